"""Given a certificate and key, the collector serves HTTPS and OTLP/gRPC over TLS, and nothing
in the clear: a plain-HTTP request to the HTTPS port gets no answer from the API."""

from __future__ import annotations

import subprocess
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc

from autoscope.core.kafka_settings import KafkaSettings
from autoscope.service import Service, ServiceSettings
from tests.event_samples import event

pytestmark = pytest.mark.integration


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def test_https_and_grpc_tls(kafka: KafkaSettings, tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    settings = ServiceSettings(data_dir=tmp_path / "data", port=0, grpc_port=0, kafka=kafka, tls_cert=cert, tls_key=key)
    with Service(settings).start() as service:
        assert service.endpoint.startswith("https://")
        answer = httpx.post(f"{service.endpoint}/v1/events", json=[event("task")], verify=str(cert), timeout=10)
        assert answer.status_code == 200, answer.text

        plain = service.endpoint.replace("https://", "http://")
        with pytest.raises(httpx.HTTPError):  # uvicorn answers no HTTP over its TLS socket
            httpx.post(f"{plain}/v1/events", json=[event("task")], timeout=5).raise_for_status()

        assert service.grpc_endpoint is not None
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(service.grpc_endpoint, credentials) as channel:
            response = logs_service_pb2_grpc.LogsServiceStub(channel).Export(
                logs_service_pb2.ExportLogsServiceRequest(), timeout=10
            )
        assert not response.partial_success.rejected_log_records

        with grpc.insecure_channel(service.grpc_endpoint) as channel:
            with pytest.raises(grpc.RpcError):
                logs_service_pb2_grpc.LogsServiceStub(channel).Export(
                    logs_service_pb2.ExportLogsServiceRequest(), timeout=5
                )
