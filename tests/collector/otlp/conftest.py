"""A running collector (uvicorn on a free port, gRPC on another) and OTLP/JSON builders."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from kafka import KafkaConsumer
from starlette.testclient import TestClient

from autoscope.collector import contract
from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.receivers.grpc_settings import GrpcSettings
from autoscope.core.kafka_settings import KafkaSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningCollector:
    def __init__(self, app: Any, http_port: int) -> None:
        self.app = app
        self.http_port = http_port
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=http_port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def grpc_port(self) -> int:
        return self.app.state.otlp_grpc.port

    def __enter__(self) -> RunningCollector:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def make_app(tmp_path: Path, kafka: KafkaSettings, **otlp: Any) -> Any:
    return create_app(CollectorSettings(tmp_path, kafka, otlp=OtlpSettings(**otlp), grpc=GrpcSettings(port=0)))


@pytest.fixture
def collector(tmp_path: Path, kafka: KafkaSettings) -> Iterator[RunningCollector]:
    with RunningCollector(make_app(tmp_path, kafka), free_port()) as running:
        yield running


@pytest.fixture
def client(tmp_path: Path, kafka: KafkaSettings) -> Iterator[TestClient]:
    with TestClient(make_app(tmp_path, kafka)) as test_client:
        yield test_client


def consume(kafka: KafkaSettings, at_least: int, quiet_ms: int = 1500) -> list[contract.Event]:
    """Every event on the topic: waits for ``at_least``, then for ``quiet_ms`` of silence."""
    consumer = KafkaConsumer(
        kafka.topic, auto_offset_reset="earliest", consumer_timeout_ms=quiet_ms, **kafka.client_kwargs()
    )
    events: list[contract.Event] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for message in consumer:
            events.extend(contract.decode_events(message.value))
        if len(events) >= at_least:
            break
    consumer.close()
    return events


# -- OTLP/JSON builders (the spec's encoding: camelCase, ints as strings, hex ids) ---------


def value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [value(x) for x in v]}}
    return {"stringValue": v}


def attrs(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": value(v)} for k, v in mapping.items()]


def logs_body(records: list[dict[str, Any]], resource: dict[str, Any], scope: str = "test") -> dict[str, Any]:
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": attrs(resource)},
                "scopeLogs": [{"scope": {"name": scope}, "logRecords": records}],
            }
        ]
    }


def log_record(time_ns: int, attributes: dict[str, Any], body: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"timeUnixNano": str(time_ns), "attributes": attrs(attributes)}
    if body is not None:
        record["body"] = {"stringValue": body}
    return record


def sum_metric(name: str, points: list[dict[str, Any]], temporality: int = 1, unit: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "unit": unit,
        "sum": {
            "dataPoints": points,
            "aggregationTemporality": temporality,
            "isMonotonic": True,
        },
    }


def point(v: float, time_ns: int, attributes: dict[str, Any], start_ns: int = 0) -> dict[str, Any]:
    return {
        "asDouble": v,
        "startTimeUnixNano": str(start_ns),
        "timeUnixNano": str(time_ns),
        "attributes": attrs(attributes),
    }


def metrics_body(metrics: list[dict[str, Any]], resource: dict[str, Any], scope: str = "test") -> dict[str, Any]:
    return {
        "resourceMetrics": [
            {
                "resource": {"attributes": attrs(resource)},
                "scopeMetrics": [{"scope": {"name": scope}, "metrics": metrics}],
            }
        ]
    }


def post_json(client: Any, signal: str, body: dict[str, Any]) -> Any:
    import json

    return client.post(f"/v1/{signal}", content=json.dumps(body).encode(), headers={"content-type": "application/json"})
