"""OpenTelemetry-native emission: the log records' semantic conventions (decoded from the OTLP
request with opentelemetry-proto), task spans in a tool's own tracer provider, and a tool's
own global LoggerProvider left alone unless asked for."""

from __future__ import annotations

import datetime as dt

import pytest
from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from autoscope import agents
from autoscope.agents import semconv

from .conftest import StubCollector, hook_settings


def log_records(collector: StubCollector) -> list[dict[str, object]]:
    return [r for q in collector.requests for r in q.get("log_records", [])]  # type: ignore[union-attr]


def test_log_records_follow_the_semantic_conventions(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url))
    when = dt.datetime(2026, 5, 4, 3, 2, 1, 500_000, tzinfo=dt.UTC)
    with agents.task("analysis", executor="ai", human_minutes=30, model="claude-x", occurred_at=when) as t:
        pass
    agents.impression("q1", score=5, tags=["a", "b"])
    agents.model_deployment("m1", internal_at=when)  # public_at None: left out
    assert agents.flush(10)
    task, impression, deployment = log_records(collector)
    assert task["event_name"] == "autoscope.task"
    attributes = task["attributes"]
    assert attributes["event.name"] == "autoscope.task"  # type: ignore[index]
    assert attributes == {  # every contract field, flattened, nothing else
        "event.name": "autoscope.task",
        "autoscope.event_id": t.event_id,
        "autoscope.occurred_at": "2026-05-04T03:02:01.500000+00:00",
        "autoscope.source.tool": "test-tool",
        "autoscope.source.version": "1.0",
        "autoscope.actor": "ada@lab.example",
        "autoscope.team": "pretraining",
        "autoscope.task_id": t.task_id,
        "autoscope.executor": "ai",
        "autoscope.autonomy": "supervised",
        "autoscope.category": "analysis",
        "autoscope.role": "engineer",
        "autoscope.rung": "engineering",
        "autoscope.human_minutes": 30,
        "autoscope.duration_s": attributes["autoscope.duration_s"],  # type: ignore[index]
        "autoscope.outcome": "success",
        "autoscope.family": "analysis",
        "autoscope.model": "claude-x",
        "autoscope.size_source": "estimated",
    }
    assert isinstance(attributes["autoscope.duration_s"], float)  # type: ignore[index]
    assert task["time_unix_nano"] == semconv.timestamp_ns("2026-05-04T03:02:01.500000+00:00")
    assert task["resource"]["service.name"] == "test-tool"  # type: ignore[index]
    assert task["resource"]["service.version"] == "1.0"  # type: ignore[index]
    assert task["scope"] == "autoscope.agents"
    assert impression["attributes"]["autoscope.tags"] == ["a", "b"]  # type: ignore[index]
    assert "autoscope.public_at" not in deployment["attributes"]  # type: ignore[operator]
    assert len(collector.accepted) == 3  # and they validate against the contract


def test_tasks_become_spans_in_the_tools_tracer_provider(
    collector: StubCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)  # the tool's own, set by the tool
    agents.configure(**hook_settings(collector.url))
    tool_tracer = provider.get_tracer("the-tool")
    with pytest.raises(RuntimeError):
        with agents.task("experiment_run", human_minutes=60) as t:
            with tool_tracer.start_as_current_span("llm call"):
                pass
            raise RuntimeError("boom")
    handle = agents.task("analysis", human_minutes=5)
    handle.finish()  # never start()ed: a span from construction to finish
    assert agents.flush(10)
    by_name = {s.name: s for s in spans.get_finished_spans()}
    task_span = by_name["autoscope.task experiment_run"]
    assert by_name["llm call"].parent.span_id == task_span.context.span_id  # nests under the task
    assert task_span.attributes["autoscope.task_id"] == t.task_id
    assert task_span.attributes["autoscope.outcome"] == "failure"
    assert task_span.attributes["autoscope.event_id"] == t.event_id
    assert task_span.status.status_code == trace.StatusCode.ERROR
    assert "autoscope.task analysis" in by_name
    assert trace.get_tracer_provider() is provider  # untouched
    assert len(collector.accepted) == 2  # the log records go to the collector as before


def test_no_tracer_provider_means_no_spans_and_none_is_created(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url))
    before = trace.get_tracer_provider()
    with agents.task("analysis", human_minutes=5):
        pass
    assert agents.flush(10)
    assert trace.get_tracer_provider() is before
    assert isinstance(before, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


def test_global_logger_provider_is_used_only_when_configured(
    collector: StubCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry import _logs
    from opentelemetry._logs import _internal as logs_internal

    records = InMemoryLogRecordExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(records))
    monkeypatch.setattr(logs_internal, "_LOGGER_PROVIDER", provider)
    assert _logs.get_logger_provider() is provider

    agents.configure(**hook_settings(collector.url))  # default: our own pipeline
    agents.review("t1", "approved", minutes=1)
    assert agents.flush(10)
    assert len(collector.accepted) == 1 and records.get_finished_logs() == ()

    agents.configure(**hook_settings(collector.url, otel_provider="global"))
    event_id = agents.review("t1", "approved", minutes=1)
    assert agents.flush(10)
    (record,) = records.get_finished_logs()
    assert record.log_record.event_name == "autoscope.review"
    assert record.log_record.attributes["autoscope.event_id"] == event_id
    assert agents.stats()["handed_off"] == 1 and agents.stats()["queued"] == 0
    assert len(collector.accepted) == 1  # the tool's pipeline delivers it, not ours
    assert _logs.get_logger_provider() is provider


def test_resume_a_task_in_another_process(collector: StubCollector) -> None:
    agents.configure(**hook_settings(collector.url))
    handle = agents.task("experiment_run", human_minutes=45, task_id="job-7", team="rl")
    state = handle.state()
    import json

    resumed = agents.resume_task(json.loads(json.dumps(state)))  # e.g. through a job queue
    resumed.fail()
    assert resumed.finish()
    assert agents.flush(10)
    (event,) = collector.accepted
    assert (event["task_id"], event["team"], event["outcome"]) == ("job-7", "rl", "failure")
    assert agents.resume_task({"garbage": 1}).finish() is None  # never raises


def test_the_tools_otlp_headers_never_reach_the_collector(
    collector: StubCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool exporting to a vendor has its API key in OTEL_EXPORTER_OTLP_HEADERS: the OTLP
    exporter would merge it into ours."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=vendor-secret")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "api-key=vendor-secret")
    agents.configure(**hook_settings(collector.url))
    agents.review("t1", "approved", minutes=1)
    assert agents.flush(10)
    (request,) = collector.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}  # type: ignore[union-attr]
    assert "vendor-secret" not in str(headers)
    assert headers["authorization"] == "Bearer s3cret"
    assert len(collector.accepted) == 1


RACE = """
import json, sys, time
sys.setswitchinterval(1e-6)  # hand the GIL over as often as possible
from autoscope import agents
agents.configure(collector_url=sys.argv[1], otel_provider=sys.argv[2], transport="otlp",
                 team="t", actor="a@lab.example", tool="race", max_queue_size=1_000_000)
deadline = time.monotonic() + 0.5
while time.monotonic() < deadline:  # while the exporter thread imports the OTel SDK
    agents.task("analysis", human_minutes=1).finish()
    agents.review("t1", "approved", minutes=1)
agents.flush(10)
print(json.dumps(agents.stats()))
"""


@pytest.mark.parametrize("provider", ["own", "global"])
def test_hooks_called_while_the_sdk_is_still_importing(collector: StubCollector, provider: str) -> None:
    """The exporter thread imports the OTel SDK, and with it opentelemetry.trace and ._logs,
    while the tool goes on calling hooks: a half-imported module must count as absent, never as
    an AttributeError (which lost whole events with otel_provider="global")."""
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", RACE, collector.url, provider], capture_output=True, text=True, timeout=60, check=True
    )
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert stats["errors"] == 0 and stats["dropped"] == 0, (stats, done.stderr[-2000:])
    assert stats["sent"] == stats["queued"] > 100, stats
