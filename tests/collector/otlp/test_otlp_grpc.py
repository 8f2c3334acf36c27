"""OTLP/gRPC answers: partial_success over gRPC, UNAVAILABLE with RetryInfo when the spool is
full, and a bound on calls at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from starlette.testclient import TestClient

from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.intake import Limits
from autoscope.collector.receivers.grpc_settings import GrpcSettings
from autoscope.core.kafka_settings import KafkaSettings
from tests.collector.otlp.conftest import log_record, logs_body

pytestmark = pytest.mark.integration

RECORD = {"event.name": "autoscope.impression", "user.id": "ada", "autoscope.question_id": "q", "autoscope.score": 9}


def export(port: int, attributes: dict) -> logs_service_pb2.ExportLogsServiceResponse:
    request = json_format.ParseDict(
        logs_body([log_record(1, attributes)], {"service.name": "x"}), logs_service_pb2.ExportLogsServiceRequest()
    )
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return logs_service_pb2_grpc.LogsServiceStub(channel).Export(request, timeout=10)


def test_grpc_partial_success_names_the_attribute(tmp_path: Path, kafka: KafkaSettings) -> None:
    settings = CollectorSettings(tmp_path, kafka, grpc=GrpcSettings(port=0))
    with TestClient(create_app(settings)) as client:
        response = export(client.app.state.otlp_grpc.port, RECORD)
    assert response.partial_success.rejected_log_records == 1
    assert "attribute autoscope.score ($.score)" in response.partial_success.error_message


def test_grpc_full_spool_is_unavailable(tmp_path: Path, kafka: KafkaSettings) -> None:
    settings = CollectorSettings(tmp_path, kafka, spool_max_bytes=10, grpc=GrpcSettings(port=0))
    with TestClient(create_app(settings)) as client:
        with pytest.raises(grpc.RpcError) as failure:
            export(client.app.state.otlp_grpc.port, {**RECORD, "autoscope.score": 3})
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "spool" in failure.value.details()
    # the wait, where OTLP exporters look for it: a google.rpc.RetryInfo in the status details
    trailer = dict(failure.value.trailing_metadata())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(trailer)
    assert status.code == grpc.StatusCode.UNAVAILABLE.value[0] and "spool" in status.message
    retry = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(retry)
    assert 1 <= retry.retry_delay.seconds <= 5


def test_calls_beyond_max_in_flight_are_refused_not_queued(
    tmp_path: Path, kafka: KafkaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One worker thread, two calls allowed at once: the first holds the worker (its spool
    write is held back), the second waits for it, the third is refused straight away."""
    settings = CollectorSettings(tmp_path, kafka, Limits(max_in_flight=2), grpc=GrpcSettings(port=0, workers=1))
    entered, release = threading.Event(), threading.Event()
    with TestClient(create_app(settings)) as client:
        spool = client.app.state.spool
        append = spool.append

        def held_append(records: list[bytes]) -> None:
            entered.set()
            release.wait(20)
            append(records)

        monkeypatch.setattr(spool, "append", held_append)
        request = json_format.ParseDict(
            logs_body([log_record(1, {**RECORD, "autoscope.score": 3})], {"service.name": "x"}),
            logs_service_pb2.ExportLogsServiceRequest(),
        )
        with grpc.insecure_channel(f"127.0.0.1:{client.app.state.otlp_grpc.port}") as channel:
            stub = logs_service_pb2_grpc.LogsServiceStub(channel)
            first = stub.Export.future(request, timeout=30)
            assert entered.wait(10)
            second = stub.Export.future(request, timeout=30)
            time.sleep(0.5)  # let the server take the second call in
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as failure:
                stub.Export(request, timeout=10)
            assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert time.monotonic() - started < 5, "refused at once, not queued"
            release.set()
            assert first.result().partial_success.rejected_log_records == 0
            assert second.result().partial_success.rejected_log_records == 0


def test_port_in_use_leaves_http_working(tmp_path: Path, kafka: KafkaSettings) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = CollectorSettings(tmp_path, kafka, grpc=GrpcSettings(port=port))
        with TestClient(create_app(settings)) as client:
            assert client.app.state.otlp_grpc.error is not None
            assert (
                client.post("/v1/logs", content=b"", headers={"content-type": "application/x-protobuf"}).status_code
                == 200
            )


def test_a_grpc_request_that_does_not_parse_is_counted_by_reason_and_tool(
    tmp_path: Path,
    kafka: KafkaSettings,
) -> None:
    """The gRPC receiver takes the same admission step as HTTP: a body that does not parse is
    INVALID_ARGUMENT naming the reason, and counted under ``body`` for the tool its
    User-Agent names (grpcio sends ``grpc-python/…``), not for ``unknown``."""
    settings = CollectorSettings(tmp_path, kafka, grpc=GrpcSettings(port=0))
    with TestClient(create_app(settings)) as client:
        with grpc.insecure_channel(f"127.0.0.1:{client.app.state.otlp_grpc.port}") as channel:
            raw = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export")
            with pytest.raises(grpc.RpcError) as failure:
                raw(b"\x0a\xff\xff\xff\xff\x0f", timeout=10)  # a length that runs past the end
        refused = client.get("/healthz").json()["requests_refused_by_tool"]
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "body: not a valid ExportLogsServiceRequest protobuf" in failure.value.details()
    assert refused["body"] == {"grpc-python": 1}
