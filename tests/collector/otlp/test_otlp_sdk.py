"""The real OpenTelemetry Python SDK and its OTLP exporters (http/protobuf and gRPC) against a
running collector (uvicorn on a free port); the events are read back from Kafka."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from autoscope.collector import contract
from autoscope.core.kafka_settings import KafkaSettings
from tests.collector.otlp.conftest import RunningCollector, consume

pytestmark = pytest.mark.integration

RESOURCE = Resource.create(
    {"service.name": "lab-agent", "service.version": "0.9.1", "user.email": "ada@lab.org", "team": "pretraining"}
)


def exporters(protocol: str, collector: RunningCollector):  # type: ignore[no-untyped-def]
    if protocol == "http":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = f"http://127.0.0.1:{collector.http_port}"
        return (
            OTLPLogExporter(endpoint=f"{base}/v1/logs"),
            OTLPSpanExporter(endpoint=f"{base}/v1/traces"),
            OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
        )
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogs
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans

    target = f"127.0.0.1:{collector.grpc_port}"
    return (
        GrpcLogs(endpoint=target, insecure=True),
        GrpcSpans(endpoint=target, insecure=True),
        GrpcMetrics(endpoint=target, insecure=True),
    )


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_sdk_exports_logs_spans_and_metrics(protocol: str, collector: RunningCollector, kafka: KafkaSettings) -> None:
    log_exporter, span_exporter, metric_exporter = exporters(protocol, collector)

    logs = LoggerProvider(resource=RESOURCE)
    logs.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    logs.get_logger("autoscope.agents").emit(
        LogRecord(
            timestamp=time.time_ns(),
            event_name="autoscope.review",
            attributes={
                "autoscope.event_id": f"0190d6a2-7a9b-7c1e-8f00-00000000000{protocol == 'grpc':d}",
                "autoscope.task_id": "t1",
                "autoscope.reviewer": "bob@lab.org",
                "autoscope.action": "rejected",
                "autoscope.minutes": 3.0,
            },
        )
    )
    logs.shutdown()

    tracer_provider = TracerProvider(resource=RESOURCE)
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    tracer = tracer_provider.get_tracer("agent")
    with tracer.start_as_current_span(
        "invoke_agent planner",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.input_tokens": 999,  # the subtree's sum: not spent again
        },
    ):
        with tracer.start_as_current_span(
            "chat claude-sonnet-4-5",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "anthropic",
                "gen_ai.request.model": "claude-sonnet-4-5",
                "gen_ai.usage.input_tokens": 700,
                "gen_ai.usage.output_tokens": 70,
            },
        ):
            pass
    tracer_provider.shutdown()

    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)
    meters = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    commits = meters.get_meter("claude-code-like").create_counter("claude_code.commit.count")
    commits.add(2, {"session.id": "s-1"})
    reader.force_flush()
    reader.force_flush()  # the same cumulative total again: counted once
    commits.add(1, {"session.id": "s-1"})
    meters.shutdown()  # exports the total of 3

    events = consume(kafka, 6)
    kinds = Counter(type(e).__name__ for e in events)
    assert kinds == Counter(Review=1, Task=1, Spend=1, Contribution=3)
    review = next(e for e in events if isinstance(e, contract.Review))
    assert review.action == "rejected" and review.source == contract.Source("lab-agent", "0.9.1")
    assert "@" not in review.actor and "@" not in review.reviewer
    spend = next(e for e in events if isinstance(e, contract.Spend))
    assert (spend.input_tokens, spend.output_tokens, spend.model) == (700, 70, "anthropic/claude-sonnet-4-5")
    task = next(e for e in events if isinstance(e, contract.Task))
    assert task.team == "pretraining" and task.executor == "ai"
