"""Malformed bodies of each content type, wrong types and encodings, and backpressure."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from google.rpc import status_pb2
from starlette.testclient import TestClient

from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.intake import Limits
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.receivers.grpc_settings import GrpcSettings
from autoscope.core.kafka_settings import KafkaSettings
from tests.collector.otlp.conftest import log_record, logs_body, post_json

pytestmark = pytest.mark.integration

JSON = {"content-type": "application/json"}
PROTO = {"content-type": "application/x-protobuf"}


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "needle"),
    [
        ("/v1/logs", b"\xff\xff\xff", PROTO, 400, "not a valid ExportLogsServiceRequest protobuf"),
        ("/v1/traces", b"\x0a\x05\x0a\x03", PROTO, 400, "not a valid ExportTraceServiceRequest protobuf"),
        ("/v1/metrics", b'{"resourceMetrics": [', JSON, 400, "invalid JSON"),
        ("/v1/logs", b"[1, 2]", JSON, 400, "must be a JSON object (ExportLogsServiceRequest)"),
        ("/v1/logs", b'{"resourceLogs": {"no": "list"}}', JSON, 400, "resourceLogs"),
        (
            "/v1/traces",
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}',
            JSON,
            400,
            "$.resourceSpans[0].scopeSpans[0].spans[0].traceId: 'xyz' is not a hex id",
        ),
        (
            "/v1/metrics",
            b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"sum": {"dataPoints": '
            b'[{"timeUnixNano": "soon"}]}}]}]}]}',
            JSON,
            400,
            "timeUnixNano",
        ),
        ("/v1/logs", b"{}", {"content-type": "text/plain"}, 415, "expected application/x-protobuf or application/json"),
        ("/v1/logs", b"{}", {**JSON, "content-encoding": "br"}, 415, "unsupported content encoding 'br'"),
        ("/v1/logs", b"not gzip", {**JSON, "content-encoding": "gzip"}, 400, "not valid gzip"),
    ],
)
def test_malformed_requests_are_refused_naming_the_problem(
    client: TestClient, path: str, body: bytes, headers: dict, status: int, needle: str
) -> None:
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == status, response.text
    if response.headers["content-type"].startswith("application/x-protobuf"):
        message = status_pb2.Status.FromString(response.content).message
    else:
        message = response.json()["message"]
    assert needle in message


@pytest.mark.parametrize("headers", [PROTO, JSON], ids=["protobuf", "json"])
def test_truncated_gzip_export_is_refused_so_the_exporter_retries(client: TestClient, headers: dict) -> None:
    """A gzip stream cut off after a flush inflates to a valid request: its first part. Taking
    that with a 200 would lose the rest, which the exporter would never send again."""
    import zlib

    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

    def request(first: int) -> bytes:
        body = logs_body([log_record(first + i, {"event.name": "other"}) for i in range(50)], {"service.name": "x"})
        message = json_format.ParseDict(body, logs_service_pb2.ExportLogsServiceRequest())
        return message.SerializeToString() if headers is PROTO else json_format.MessageToJson(message).encode()

    stream = zlib.compressobj(wbits=31)  # gzip
    head = stream.compress(request(1)) + stream.flush(zlib.Z_FULL_FLUSH)
    # protobuf: two serialized requests make one (repeated fields concatenate); JSON: spaces
    rest = stream.compress(request(100) if headers is PROTO else b" " * 64) + stream.flush()
    whole = client.post("/v1/logs", content=head + rest, headers={**headers, "content-encoding": "gzip"})
    assert whole.status_code == 200
    received = client.get("/healthz").json()["otlp"]["otlp_records_received"]
    assert received == {"logs": 100 if headers is PROTO else 50}

    cut = client.post("/v1/logs", content=head, headers={**headers, "content-encoding": "gzip"})
    assert cut.status_code == 400
    if headers is PROTO:
        status = status_pb2.Status.FromString(cut.content)
    else:
        status = json_format.ParseDict(cut.json(), status_pb2.Status())
    assert status.code == 3  # INVALID_ARGUMENT
    assert status.message.startswith("body: gzip body is truncated")
    assert client.get("/healthz").json()["otlp"]["otlp_records_received"] == received


def test_empty_protobuf_export_is_fine_and_answered_in_protobuf(client: TestClient) -> None:
    response = client.post("/v1/metrics", content=b"", headers=PROTO)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-protobuf")
    assert response.content == b""


def test_chunked_gzip_protobuf_is_accepted(client: TestClient) -> None:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    message = json_format.ParseDict(logs_body([log_record(1, {"event.name": "x"})], {}), ExportLogsServiceRequest())
    payload = gzip.compress(message.SerializeToString())
    response = client.post(
        "/v1/logs",
        content=iter([payload[:10], payload[10:]]),  # no Content-Length: chunked
        headers={**PROTO, "content-encoding": "gzip"},
    )
    assert response.status_code == 200 and response.content == b""


def test_full_spool_is_503_with_a_short_retry_after(tmp_path: Path, kafka: KafkaSettings) -> None:
    settings = CollectorSettings(tmp_path, kafka, spool_max_bytes=10, grpc=GrpcSettings(port=None))
    record = log_record(
        1, {"event.name": "autoscope.impression", "user.id": "ada", "autoscope.question_id": "q", "autoscope.score": 3}
    )
    with TestClient(create_app(settings)) as client:
        response = post_json(client, "logs", logs_body([record], {"service.name": "x"}))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert "spool" in response.json()["message"]


def test_too_many_in_flight_is_429_with_retry_after(tmp_path: Path, kafka: KafkaSettings) -> None:
    settings = CollectorSettings(tmp_path, kafka, Limits(max_in_flight=0), grpc=GrpcSettings(port=None))
    with TestClient(create_app(settings)) as client:
        response = post_json(client, "traces", {"resourceSpans": []})
    assert response.status_code == 429 and response.headers["retry-after"] == "1"


def test_oversized_body_is_413(tmp_path: Path, kafka: KafkaSettings) -> None:
    settings = CollectorSettings(tmp_path, kafka, Limits(max_body_bytes=1000), grpc=GrpcSettings(port=None))
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/logs", content=b" " * 1001, headers=JSON)
    assert response.status_code == 413 and "limit of 1000 bytes" in response.json()["message"]


def test_odd_values_are_counted_or_rejected_never_a_500(client: TestClient) -> None:
    from tests.collector.otlp.conftest import metrics_body, sum_metric

    huge = {"event.name": "autoscope.impression", "user.id": "ada", "autoscope.question_id": "q", "autoscope.score": 3}
    logs = post_json(client, "logs", logs_body([log_record(0, huge)], {"service.name": "x"}))
    assert logs.status_code == 200
    assert (
        "attribute time_unix_nano ($.occurred_at): required field is missing"
        in logs.json()["partialSuccess"]["errorMessage"]
    )
    points = [
        {"asDouble": "Infinity", "timeUnixNano": "5", "attributes": []},
        {"asDouble": 1e12, "timeUnixNano": "6", "attributes": []},
    ]
    metrics = post_json(client, "metrics", metrics_body([sum_metric("claude_code.commit.count", points)], {}))
    assert metrics.status_code == 200 and metrics.json() == {}
    unmapped = client.get("/healthz").json()["otlp"]["otlp_unmapped"]
    assert unmapped == {"metric:claude_code.commit.count(implausible count)": 2}


def test_settings_load_from_a_mapping() -> None:
    settings = OtlpSettings.from_mapping(
        {
            "identity": {"actor_attributes": ["user.id"], "default_team": "lab"},
            "claude_code_usage_from": "metrics",
        }
    )
    assert settings.identity.actor_attributes == ("user.id",) and settings.identity.default_team == "lab"
    assert settings.claude_code_usage_from == "metrics"
    with pytest.raises(ValueError, match="unknown OTLP setting"):
        OtlpSettings.from_mapping({"grpc_prot": 1})
    with pytest.raises(ValueError, match="unknown OTLP setting"):  # where gRPC listens: GrpcSettings
        OtlpSettings.from_mapping({"grpc_port": None})
    with pytest.raises(ValueError, match="claude_code_usage_from"):
        OtlpSettings(claude_code_usage_from="both")  # type: ignore[arg-type]
