"""Replay a real-client recording into a running Autoscope service, over the transport it was
recorded on (OTLP/HTTP protobuf or JSON with its recorded content type and user agent, or
OTLP/gRPC to the recorded method), and wait until the warehouse holds what the collector
accepted. Used by the replay, privacy, identity and GenAI SDK tests."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.json_format import MessageToJson, Parse

from autoscope.service import Service
from tests.real_clients import expected as ex

#: headers an HTTP replay keeps: what the client chose, not what the recording proxy saw
KEPT_HEADERS = ("content-type", "user-agent")
Rewrite = Callable[[Any], None]  # changes a decoded request in place before it is sent


def replay(
    service: Service,
    recording: str,
    rewrite: Rewrite | None = None,
    order: Callable[[Iterable[Path]], Iterable[Path]] = sorted,
) -> int:
    """Send every request of ``recording`` (in ``order`` of their header files: recorded order
    by default); returns how many were sent. With ``rewrite``, each request is decoded, changed
    and encoded again in the recording's own encoding."""
    sent = 0
    for head in order(ex.FIXTURES.glob(f"{recording}-[0-9][0-9][0-9][0-9]-*.headers.json")):
        stem = head.name[: -len(".headers.json")]
        signal = stem.rsplit("-", 1)[1]
        meta = json.loads(head.read_text())
        body_path, body = ex.read_body(ex.FIXTURES / stem)
        is_json = ".json" in body_path.suffixes
        if rewrite is not None:
            message = ex.REQUEST_TYPES[signal]()
            if is_json:
                Parse(body.decode(), message)
            else:
                message.ParseFromString(body)
            rewrite(message)
            body = MessageToJson(message).encode() if is_json else message.SerializeToString()
        headers = {k.lower(): v for k, v in meta["headers"].items()}
        if meta["transport"] == "grpc":
            _grpc(service, headers["path"], body)
        else:
            _http(service, headers["path"], body, {k: headers[k] for k in KEPT_HEADERS if k in headers})
        sent += 1
    return sent


def _http(service: Service, path: str, body: bytes, headers: dict[str, str]) -> None:
    request = urllib.request.Request(service.endpoint + path, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, (path, response.status)


def _grpc(service: Service, method: str, body: bytes) -> None:
    assert service.grpc_endpoint is not None, "the service serves no gRPC"
    with grpc.insecure_channel(service.grpc_endpoint) as channel:
        call = channel.unary_unary(method)  # bytes in, bytes out: the recorded message as sent
        call(body, timeout=30)


def healthz(service: Service) -> dict[str, Any]:
    with urllib.request.urlopen(service.endpoint + "/healthz", timeout=10) as response:
        return json.loads(response.read())


def metrics_text(service: Service) -> str:
    with urllib.request.urlopen(service.endpoint + "/metrics", timeout=10) as response:
        return response.read().decode()


def wait_until_ingested(service: Service, timeout_s: float = 60.0) -> int:
    """Wait until every event the collector accepted is in the warehouse; returns the count."""
    deadline = time.monotonic() + timeout_s
    accepted = stored = -1
    while time.monotonic() < deadline:
        accepted = int(healthz(service)["accepted"])
        cursor = service.cursor()
        try:
            stored = cursor.execute("SELECT count(*) FROM event_ids").fetchone()[0]
        finally:
            cursor.close()
        if stored == accepted:
            return stored
        time.sleep(0.3)
    raise AssertionError(f"{accepted} events accepted but {stored} in the warehouse after {timeout_s:g} s")
