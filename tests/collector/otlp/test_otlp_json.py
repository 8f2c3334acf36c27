"""Hand-written OTLP/JSON: Autoscope's own conventions, GenAI spans, partial_success."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from autoscope.collector import contract
from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.mapping.identity import IdentitySettings
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.receivers.grpc_settings import GrpcSettings
from autoscope.core.kafka_settings import KafkaSettings
from tests.collector.otlp.conftest import attrs, consume, log_record, logs_body, post_json

pytestmark = pytest.mark.integration

T0 = 1_764_300_000_000_000_000
RESOURCE = {"service.name": "lab-notebook", "service.version": "1.4.0"}
TASK = {
    "event.name": "autoscope.task",
    "autoscope.event_id": "0190d6a2-7a9b-7c1e-8f00-0123456789ab",
    "autoscope.actor": "ada@lab.org",
    "autoscope.team": "pretraining",
    "autoscope.occurred_at": "2026-11-02T10:00:00+01:00",
    "autoscope.task_id": "t1",
    "autoscope.executor": "ai",
    "autoscope.autonomy": "supervised",
    "autoscope.category": "analysis",
    "autoscope.role": "engineer",
    "autoscope.rung": "engineering",
    "autoscope.human_minutes": 30.0,
    "autoscope.duration_s": 12.5,
    "autoscope.outcome": "success",
}


def test_autoscope_conventions_map_back_exactly(client: TestClient, kafka: KafkaSettings) -> None:
    impression = {
        "event.name": "autoscope.impression",
        "user.email": "bob@lab.org",
        "team": "infra",
        "autoscope.question_id": "q_speedup",
        "autoscope.score": 4,
        "autoscope.tags": ["coding", "review"],
    }
    response = post_json(client, "logs", logs_body([log_record(T0, TASK), log_record(T0 + 5, impression)], RESOURCE))
    assert response.status_code == 200 and response.json() == {}
    events = {type(e).__name__: e for e in consume(kafka, 2)}
    task = events["Task"]
    assert task.event_id == TASK["autoscope.event_id"] and task.human_minutes == 30.0
    assert task.source == contract.Source("lab-notebook", "1.4.0")  # falls back to the resource
    assert task.occurred_at.isoformat() == "2026-11-02T09:00:00+00:00"
    impression_event = events["Impression"]
    assert impression_event.tags == ["coding", "review"] and impression_event.team == "infra"
    # no autoscope.occurred_at / event_id: the record's time, and a deterministic id
    assert impression_event.occurred_at.timestamp() == pytest.approx(T0 / 1e9)


def test_rejected_records_in_partial_success_name_the_attribute(client: TestClient, kafka: KafkaSettings) -> None:
    bad_minutes = {
        **TASK,
        "autoscope.event_id": "0190d6a2-7a9b-7c1e-8f00-0123456789ac",
        "autoscope.human_minutes": "lots",
    }
    unknown = {**TASK, "autoscope.event_id": "0190d6a2-7a9b-7c1e-8f00-0123456789ad", "autoscope.mood": "ok"}
    no_actor = {k: v for k, v in TASK.items() if k != "autoscope.actor"}
    no_actor["autoscope.event_id"] = "0190d6a2-7a9b-7c1e-8f00-0123456789ae"
    other = {"event.name": "app.started"}
    records = [log_record(T0 + i, a) for i, a in enumerate([TASK, bad_minutes, unknown, no_actor, other])]
    response = post_json(client, "logs", logs_body(records, RESOURCE))
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == "2"  # int64 as a string, per OTLP/JSON
    message = partial["errorMessage"]
    assert "log record 1: attribute autoscope.human_minutes ($.human_minutes): Expected `float`" in message
    assert "log record 2: attribute autoscope.mood ($.mood): unknown field" in message
    # a record that names no person is kept as the team's unidentified actor (issue 12), counted by tool
    assert sorted(e.event_id for e in consume(kafka, 2)) == sorted(
        [TASK["autoscope.event_id"], no_actor["autoscope.event_id"]]
    )
    health = client.get("/healthz").json()
    assert health["rejected_by_field"] == {"$.human_minutes": 1, "$.mood": 1}
    assert health["otlp"]["otlp_unmapped"] == {"log:app.started": 1}
    assert sum(health["otlp"]["otlp_events_without_identity"].values()) == 1


def test_a_lab_that_wants_unidentified_records_quarantined_gets_the_attribute_named(
    tmp_path: Path, kafka: KafkaSettings
) -> None:
    settings = OtlpSettings(identity=IdentitySettings(unidentified_actor=""))
    with TestClient(create_app(CollectorSettings(tmp_path, kafka, otlp=settings, grpc=GrpcSettings(port=None)))) as c:
        no_actor = {k: v for k, v in TASK.items() if k != "autoscope.actor"}
        response = post_json(c, "logs", logs_body([log_record(T0, no_actor)], RESOURCE))
        partial = response.json()["partialSuccess"]
        assert partial["rejectedLogRecords"] == "1"
        assert (
            "attribute user.email / enduser.id / user.account_uuid / user.account_id / user.id / installation.id"
            " ($.actor)" in partial["errorMessage"]
        )


def span(
    span_id: str, name: str, start: int, end: int, attributes: dict, parent: str = "", error: bool = False
) -> dict:
    return {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": attrs(attributes),
        "status": {"code": 2 if error else 0},
    }


def test_genai_agent_spans_count_usage_once(client: TestClient, kafka: KafkaSettings) -> None:
    s = 1_000_000_000
    who = {"service.name": "research-agent", "service.version": "0.3", "user.id": "ada", "department": "rl"}
    agent = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "lit-review",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4.1",
        "gen_ai.usage.input_tokens": 1500,
        "gen_ai.usage.output_tokens": 150,
    }  # its subtree's sum
    chat_1 = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4.1",
        "gen_ai.response.model": "gpt-4.1-2025-04-14",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 100,
        "gen_ai.usage.cache_read.input_tokens": 800,
    }
    chat_2 = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4.1",
        "gen_ai.usage.input_tokens": "500",
        "gen_ai.usage.output_tokens": 50,
    }
    tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}
    failed = {"gen_ai.operation.name": "invoke_agent", "autoscope.human_minutes": 120}
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": attrs(who)},
                "scopeSpans": [
                    {
                        "scope": {"name": "agent"},
                        "spans": [
                            span("051581bf3cb55c13", "invoke_agent lit-review", 0, 30 * s, agent),
                            span("0000000000000002", "chat gpt-4.1", 1 * s, 5 * s, chat_1, "051581bf3cb55c13"),
                            span("0000000000000003", "execute_tool search", 5 * s, 6 * s, tool, "051581bf3cb55c13"),
                            span("0000000000000004", "chat gpt-4.1", 6 * s, 9 * s, chat_2, "051581bf3cb55c13"),
                            span("0000000000000005", "invoke_agent planner", 40 * s, 41 * s, failed, error=True),
                            span("0000000000000006", "GET /", 0, 1, {}),
                        ],
                    }
                ],
            }
        ]
    }
    response = client.post(
        "/v1/traces",
        content=gzip.compress(json.dumps(body).encode()),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert response.status_code == 200 and response.json() == {}, response.text
    events = consume(kafka, 4)
    tasks = sorted((e for e in events if isinstance(e, contract.Task)), key=lambda t: t.duration_s)
    spend = [e for e in events if isinstance(e, contract.Spend)]
    assert [(t.task_id, t.outcome, t.duration_s, t.human_minutes) for t in tasks] == [
        ("0000000000000005", "failure", 1.0, 120),
        ("051581bf3cb55c13", "success", 30.0, 15.0),
    ]
    assert tasks[1].model == "openai/gpt-4.1" and tasks[1].team == "rl" and tasks[1].source.tool == "research-agent"
    assert tasks[0].model is None  # neither provider nor model on that span
    assert (sum(x.input_tokens for x in spend), sum(x.output_tokens for x in spend)) == (1500, 150)
    # the provider from gen_ai.system (chat_1, deprecated) or gen_ai.provider.name (chat_2)
    assert Counter(x.model for x in spend) == Counter({"openai/gpt-4.1-2025-04-14": 1, "openai/gpt-4.1": 1})
    unmapped = client.get("/healthz").json()["otlp"]["otlp_unmapped"]
    assert unmapped == {"span:gen_ai.execute_tool": 1, "span:GET": 1}  # by name, its first word (issue 12)


def test_genai_provider_prefixes_the_model_whichever_attribute_names_it(
    client: TestClient, kafka: KafkaSettings
) -> None:
    s = 1_000_000_000
    who = {"service.name": "agent", "user.id": "ada"}
    usage = {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 1}
    spans = [
        span(
            "0000000000000011",
            "chat",
            0,
            s,
            {
                **usage,
                "gen_ai.provider.name": "aws.bedrock",
                "gen_ai.system": "anthropic",
                "gen_ai.request.model": "claude-x",
            },
        ),
        span(
            "0000000000000012",
            "chat",
            0,
            s,
            {**usage, "gen_ai.system": "anthropic", "gen_ai.request.model": "claude-x"},
        ),
        span("0000000000000013", "chat", 0, s, {**usage, "gen_ai.provider.name": "openai"}),
        span(
            "0000000000000014",
            "chat",
            0,
            s,
            {**usage, "gen_ai.provider.name": "openrouter", "gen_ai.response.model": "openrouter/auto"},
        ),
        span("0000000000000015", "chat", 0, s, {**usage, "gen_ai.request.model": "local-llama"}),
        span(
            "0000000000000016",
            "chat",
            0,
            s,
            {**usage, "gen_ai.provider.name": "my provider", "gen_ai.request.model": "m"},
        ),
    ]
    body = {"resourceSpans": [{"resource": {"attributes": attrs(who)}, "scopeSpans": [{"spans": spans}]}]}
    response = post_json(client, "traces", body)
    assert response.status_code == 200
    assert response.json()["partialSuccess"] == {
        "rejectedSpans": "1",
        "errorMessage": "span 5 (chat): attribute gen_ai.provider.name + gen_ai.request.model ($.model): "
        "Expected `str` matching regex '^[A-Za-z0-9_.:/+\\\\-]+$'",
    }
    models = sorted(e.model for e in consume(kafka, 5))
    # the current attribute wins over the deprecated one; a provider alone stands for the model
    assert models == ["anthropic/claude-x", "aws.bedrock/claude-x", "local-llama", "openai", "openrouter/auto"]
