"""Issue 4's "done when": an agent configured only by OpenTelemetry environment variables
exports to Autoscope, and its work shows in the warehouse and the indicators."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from autoscope.core.kafka_settings import KafkaSettings
from autoscope.pipelines.jobs import compute_indicators
from autoscope.service import Service, ServiceSettings

pytestmark = pytest.mark.integration

# A GenAI-instrumented agent: nothing Autoscope-specific, the SDK's OTLP exporter configured
# by the environment alone (endpoint, protocol, resource attributes).
AGENT = textwrap.dedent("""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("research-agent")
    for i in range(10):
        user = f"researcher{i % 5}@lab.example"
        with tracer.start_as_current_span("invoke_agent researcher", attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "researcher",
            "gen_ai.request.model": "claude", "user.email": user,
        }):
            with tracer.start_as_current_span("chat claude", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
                "gen_ai.request.model": "claude", "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 100, "user.email": user,
            }):
                pass
    provider.shutdown()
""")


def test_env_configured_agent_shows_in_indicators(kafka: KafkaSettings, tmp_path: Path) -> None:
    with Service(ServiceSettings(data_dir=tmp_path, port=0, grpc_port=0, kafka=kafka)) as service:
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": service.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_RESOURCE_ATTRIBUTES": "service.name=research-agent,service.version=0.3,team=evals",
        }
        subprocess.run([sys.executable, "-c", AGENT], env=env, check=True, timeout=60)

        deadline = time.monotonic() + 30
        counts: dict[str, int] = {}
        while time.monotonic() < deadline:
            cursor = service.cursor()
            counts = dict(cursor.execute("SELECT type, count(*) FROM event_ids GROUP BY type").fetchall())
            cursor.close()
            if counts.get("task") == 10 and counts.get("spend") == 10:
                break
            time.sleep(0.2)
        assert counts == {"task": 10, "spend": 10}

        cursor = service.cursor()
        try:
            tools = cursor.execute("SELECT DISTINCT tool, team, executor FROM tasks").fetchall()
            tokens = cursor.execute("SELECT sum(input_tokens), sum(output_tokens) FROM spend").fetchall()[0]
            frame = compute_indicators(cursor)
        finally:
            cursor.close()
    assert tools == [("research-agent", "evals", "ai")]
    assert tokens == (10_000, 1_000), "usage counted once: the agent span's own usage is not spent again"
    lab = frame.filter(
        (frame["indicator"] == "automation_share") & (frame["metric"] == "ai_share") & (frame["cut"] == "lab")
    )
    assert sorted(lab["period_type"]) == ["month", "quarter", "week"]  # one cell of each: all in one week
    assert lab["value"].to_list() == [1.0] * 3 and lab["n_actors"].to_list() == [5] * 3
