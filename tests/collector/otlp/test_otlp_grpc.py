"""OTLP/gRPC answers: partial_success over gRPC, UNAVAILABLE when the spool is full."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from starlette.testclient import TestClient

from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.kafka_settings import KafkaSettings

from tests.collector.otlp.conftest import log_record, logs_body

pytestmark = pytest.mark.integration

RECORD = {"event.name": "autoscope.impression", "user.id": "ada", "autoscope.question_id": "q",
          "autoscope.score": 9}


def export(port: int, attributes: dict) -> logs_service_pb2.ExportLogsServiceResponse:
    request = json_format.ParseDict(logs_body([log_record(1, attributes)], {"service.name": "x"}),
                                    logs_service_pb2.ExportLogsServiceRequest())
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return logs_service_pb2_grpc.LogsServiceStub(channel).Export(request, timeout=10)


def test_grpc_partial_success_names_the_attribute(tmp_path: Path, kafka: KafkaSettings) -> None:
    settings = CollectorSettings(tmp_path, kafka, otlp=OtlpSettings(grpc_port=0))
    with TestClient(create_app(settings)) as client:
        response = export(client.app.state.otlp_grpc.port, RECORD)
    assert response.partial_success.rejected_log_records == 1
    assert "attribute autoscope.score ($.score)" in response.partial_success.error_message


def test_grpc_full_spool_is_unavailable(tmp_path: Path, kafka: KafkaSettings) -> None:
    settings = CollectorSettings(tmp_path, kafka, spool_max_bytes=10, otlp=OtlpSettings(grpc_port=0))
    with TestClient(create_app(settings)) as client:
        with pytest.raises(grpc.RpcError) as failure:
            export(client.app.state.otlp_grpc.port, {**RECORD, "autoscope.score": 3})
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "spool" in failure.value.details()


def test_port_in_use_leaves_http_working(tmp_path: Path, kafka: KafkaSettings) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = CollectorSettings(tmp_path, kafka, otlp=OtlpSettings(grpc_port=port))
        with TestClient(create_app(settings)) as client:
            assert client.app.state.otlp_grpc.error is not None
            assert client.post("/v1/logs", content=b"", headers={"content-type": "application/x-protobuf"}).status_code == 200
