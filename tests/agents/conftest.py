"""A small real collector for the hook tests: an HTTP server in a thread that validates
events with the real contract, answers like the native receiver, and can be scripted to
refuse, ask for a retry, stall, or be down."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from autoscope import agents
from autoscope.agents import runtime
from autoscope.agents.error_report import ErrorReport
from autoscope.collector.contract import ContractError, convert_event


def any_value(value: object) -> object:
    kind = value.WhichOneof("value")  # type: ignore[attr-defined]
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]  # type: ignore[attr-defined]
    return None if kind is None else getattr(value, kind)


def event_from_attributes(event_name: str, attributes: dict[str, object]) -> dict[str, object]:
    """The contract event a log record of Autoscope's semantic conventions stands for."""
    assert event_name.startswith("autoscope.") and attributes["event.name"] == event_name
    event: dict[str, object] = {"type": event_name.removeprefix("autoscope."), "schema_version": 1}
    source: dict[str, object] = {}
    for key, value in attributes.items():
        if key == "event.name":
            continue
        assert key.startswith("autoscope."), key
        field = key.removeprefix("autoscope.")
        if field.startswith("source."):
            source[field.removeprefix("source.")] = value
        else:
            event[field] = value
    event["source"] = source
    return event


def request_event_ids(record: dict[str, object]) -> list[str]:
    """The event ids a request carried, native JSON or OTLP."""
    body = record["body"]
    if record["path"] == "/v1/logs":
        request = ExportLogsServiceRequest.FromString(body)  # type: ignore[arg-type]
        return [
            str(any_value(kv.value))
            for rl in request.resource_logs
            for sl in rl.scope_logs
            for log in sl.log_records
            for kv in log.attributes
            if kv.key == "autoscope.event_id"
        ]
    return [str(e["event_id"]) for e in json.loads(body)]  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StubCollector:
    """Records every request; ``script`` holds (status, headers) answers to give first."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.requests: list[dict[str, object]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        #: when set, a request without ``Authorization: Bearer <required_token>`` is answered
        #: ``refusal_status`` (the collector once any token exists)
        self.required_token: str | None = None
        self.refusal_status = 401
        self.release = threading.Event()
        self.release.set()  # clear it to make requests stall until set
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- what arrived --------------------------------------------------------------
    @property
    def accepted(self) -> list[dict[str, object]]:
        """Events answered as accepted, in arrival order."""
        with self.lock:
            return [e for r in self.requests for e in r["accepted"]]  # type: ignore[attr-defined]

    def accepted_ids(self) -> list[str]:
        return [str(e["event_id"]) for e in self.accepted]

    def wait_for(self, count: int, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.accepted) >= count:
                return True
            time.sleep(0.02)
        return False

    # --- running -------------------------------------------------------------------
    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stub.release.wait(30)
                with stub.lock:
                    scripted = stub.script.pop(0) if stub.script else None
                record: dict[str, object] = {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "accepted": [],
                    "time": time.monotonic(),
                }
                authorized = (
                    stub.required_token is None or self.headers.get("Authorization") == f"Bearer {stub.required_token}"
                )
                if scripted is not None:
                    status, headers = scripted
                    answer: object = {"error": {"field": "body", "reason": "scripted"}}
                elif not authorized:
                    status, headers = stub.refusal_status, {}
                    answer = {"error": {"field": "Authorization", "reason": "a bearer token is required"}}
                elif self.path == "/v1/logs":
                    status, headers, answer = stub.judge_otlp(body, record)
                else:
                    status, headers, answer = stub.judge(json.loads(body), record)
                with stub.lock:
                    stub.requests.append(record)
                if isinstance(answer, bytes):
                    data, content_type = answer, "application/x-protobuf"
                else:
                    data, content_type = json.dumps(answer).encode(), "application/json"
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def judge(self, events: list[dict[str, object]], record: dict[str, object]):
        """Validate like the native receiver: 200, 207 or 400 with per-event results."""
        results = []
        for index, event in enumerate(events):
            try:
                convert_event(event)
            except ContractError as exc:
                results.append(
                    {
                        "index": index,
                        "event_id": event.get("event_id"),
                        "status": "rejected",
                        "error": {"field": exc.field, "reason": exc.reason},
                    }
                )
            else:
                record["accepted"].append(event)  # type: ignore[attr-defined]
                results.append({"index": index, "event_id": event["event_id"], "status": "accepted"})
        rejected = sum(r["status"] == "rejected" for r in results)
        accepted = len(results) - rejected
        status = 200 if not rejected else (207 if accepted else 400)
        return status, {}, {"accepted": accepted, "rejected": rejected, "results": results}

    def judge_otlp(self, body: bytes, record: dict[str, object]):
        """Decode an OTLP logs request, turn each record back into an event by Autoscope's
        conventions (independently of the collector's mapper), validate it with the contract
        and answer with ``partial_success`` like the OTLP receiver."""
        request = ExportLogsServiceRequest.FromString(body)
        record["log_records"] = []
        rejected, first_error = 0, ""
        for resource_logs in request.resource_logs:
            resource = {kv.key: any_value(kv.value) for kv in resource_logs.resource.attributes}
            for scope_logs in resource_logs.scope_logs:
                for log in scope_logs.log_records:
                    attributes = {kv.key: any_value(kv.value) for kv in log.attributes}
                    record["log_records"].append(  # type: ignore[attr-defined]
                        {
                            "event_name": log.event_name,
                            "attributes": attributes,
                            "resource": resource,
                            "time_unix_nano": log.time_unix_nano,
                            "scope": scope_logs.scope.name,
                        }
                    )
                    event = event_from_attributes(log.event_name, attributes)
                    try:
                        convert_event(event)
                    except ContractError as exc:
                        rejected += 1
                        first_error = first_error or f"{exc.field}: {exc.reason}"
                    else:
                        record["accepted"].append(event)  # type: ignore[attr-defined]
        response = ExportLogsServiceResponse()
        if rejected:
            response.partial_success.rejected_log_records = rejected
            response.partial_success.error_message = first_error
        return 200, {}, response.SerializeToString()

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture(autouse=True)
def isolated_hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts unconfigured, with its own spool and no config file or env."""
    for name in (
        "AUTOSCOPE_COLLECTOR_URL",
        "AUTOSCOPE_TOKEN",
        "AUTOSCOPE_TEAM",
        "AUTOSCOPE_TOOL",
        "AUTOSCOPE_TOOL_VERSION",
        "AUTOSCOPE_ACTOR",
        "AUTOSCOPE_TRANSPORT",
        "AUTOSCOPE_OTEL_PROVIDER",
        "AUTOSCOPE_TASK_SPANS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUTOSCOPE_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("AUTOSCOPE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setattr(runtime, "_exporter", None)
    monkeypatch.setattr(runtime, "_unattributed_errors", 0)
    monkeypatch.setattr(runtime, "_early_report", ErrorReport())
    yield
    agents.shutdown(timeout_s=5)


@pytest.fixture
def collector() -> Iterator[StubCollector]:
    stub = StubCollector(free_port())
    stub.start()
    yield stub
    stub.stop()


def hook_settings(url: str, **overrides: object) -> dict[str, object]:
    """configure() arguments for fast tests."""
    return {
        "collector_url": url,
        "token": "s3cret",
        "team": "pretraining",
        "tool": "test-tool",
        "tool_version": "1.0",
        "actor": "ada@lab.example",
        "schedule_delay_s": 0.05,
        "spool_after_s": 0.5,
        **overrides,
    }
