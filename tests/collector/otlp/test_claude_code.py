"""Claude-Code-shaped OTLP/JSON (from its public docs): events and metrics, exact counts,
and nothing doubled whichever source a lab prefers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from autoscope.collector import contract
from autoscope.core.kafka_settings import KafkaSettings
from tests.collector.otlp.conftest import (
    consume,
    log_record,
    logs_body,
    make_app,
    metrics_body,
    point,
    post_json,
    sum_metric,
)

pytestmark = pytest.mark.integration

T0 = 1_764_300_000_000_000_000
SCOPE = "com.anthropic.claude_code.events"
RESOURCE = {"service.name": "claude-code", "service.version": "2.0.14", "team": "pretraining"}
WHO = {
    "user.email": "Ada@Lab.org",
    "user.account_uuid": "acc-1",
    "session.id": "s-1",
    "organization.id": "org-1",
    "team": "pretraining",
}


def cc_event(n: int, name: str, prompt: str, **fields: Any) -> dict[str, Any]:
    attributes = {
        **WHO,
        "event.name": name,
        "prompt.id": prompt,
        "event.timestamp": f"2025-11-28T10:00:{n:02d}.000Z",
        "event.sequence": n,
        **fields,
    }
    return log_record(T0 + n * 1_000_000_000, attributes, body=f"claude_code.{name}")


EVENTS = [
    cc_event(1, "user_prompt", "p-1", prompt_length=42),
    cc_event(
        2,
        "api_request",
        "p-1",
        model="claude-sonnet-4-5",
        cost_usd=0.01,
        duration_ms=1500,
        input_tokens=100,
        output_tokens=10,
        cache_read_tokens=5000,
        cache_creation_tokens=70,
    ),
    cc_event(3, "tool_decision", "p-1", tool_name="Edit", decision="accept", source="user_temporary"),
    cc_event(4, "tool_result", "p-1", tool_name="Edit", success="true", duration_ms=12),
    cc_event(
        5,
        "api_request",
        "p-1",
        model="claude-sonnet-4-5",
        cost_usd=0.02,
        duration_ms=2500,
        input_tokens=200,
        output_tokens=20,
    ),
    cc_event(6, "tool_decision", "p-1", tool_name="Bash", decision="reject", source="user_reject"),
    cc_event(7, "tool_decision", "p-1", tool_name="Read", decision="accept", source="config"),
    cc_event(8, "user_prompt", "p-2", prompt_length=7),
    # numbers as stringValue digits, as some events send them
    cc_event(
        9,
        "api_request",
        "p-2",
        model="claude-haiku-4-5",
        cost_usd="0.03",
        duration_ms="800",
        input_tokens="300",
        output_tokens="20",
    ),
    cc_event(10, "api_error", "p-2", model="claude-haiku-4-5", error="overloaded", status_code="529"),
    cc_event(11, "tool_decision", "p-2", tool_name="Write", decision="reject", source="user_abort"),
]


def cc_metrics(time_ns: int, temporality: int = 1) -> dict[str, Any]:
    def at(v: float, **extra: Any) -> dict[str, Any]:
        return point(v, time_ns, {**WHO, **extra}, start_ns=T0)

    return metrics_body(
        [
            sum_metric("claude_code.session.count", [at(1)], temporality),
            sum_metric(
                "claude_code.cost.usage",
                [at(0.03, model="claude-sonnet-4-5"), at(0.03, model="claude-haiku-4-5")],
                temporality,
                "USD",
            ),
            sum_metric(
                "claude_code.token.usage",
                [
                    at(300, type="input", model="claude-sonnet-4-5"),
                    at(30, type="output", model="claude-sonnet-4-5"),
                    at(5000, type="cacheRead", model="claude-sonnet-4-5"),
                    at(300, type="input", model="claude-haiku-4-5"),
                    at(20, type="output", model="claude-haiku-4-5"),
                ],
                temporality,
                "tokens",
            ),
            sum_metric(
                "claude_code.code_edit_tool.decision",
                [
                    at(1, tool="Edit", decision="accept", source="user_temporary", language="Python"),
                    at(1, tool="Write", decision="reject", source="user_reject", language="Python"),
                ],
                temporality,
            ),
            sum_metric("claude_code.commit.count", [at(2)], temporality),
            sum_metric("claude_code.pull_request.count", [at(1)], temporality),
            sum_metric("claude_code.lines_of_code.count", [at(120, type="added")], temporality),
            sum_metric(
                "claude_code.active_time.total", [at(95.5, type="user"), at(30.0, type="cli")], temporality, "s"
            ),
        ],
        RESOURCE,
        scope="com.anthropic.claude_code",
    )


def by_type(events: list[contract.Event]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for event in events:
        out.setdefault(type(event).__name__, []).append(event)
    return out


def test_events_preferred_nothing_doubled(tmp_path: Path, kafka: KafkaSettings) -> None:
    with TestClient(make_app(tmp_path, kafka)) as client:
        logs = post_json(client, "logs", logs_body(EVENTS, RESOURCE, SCOPE))
        assert logs.status_code == 200, logs.text
        assert logs.json() == {}  # everything mapped or counted: no partial_success
        metrics = post_json(client, "metrics", cc_metrics(T0 + 60_000_000_000))
        assert metrics.status_code == 200, metrics.text
        otlp = client.get("/healthz").json()["otlp"]
        prom = client.get("/metrics").text
    # issue 12: a prompt is no longer a task in the collector: every record of a turn is a turn
    # fact (the warehouse assembles the turn, tests/warehouse/test_agent_turns.py); a decision
    # made by configuration is a review with oversight "rule"; lines_of_code.count is a fact
    # an accepted tool that takes a scope is a permission grant of the session, sent once; the
    # user's active time becomes a time allocation
    events = consume(kafka, 24)
    kinds = by_type(events)
    assert Counter({k: len(v) for k, v in kinds.items()}) == Counter(
        AgentTurnFact=12, Spend=3, Review=4, Contribution=3, Permission=1, TimeAllocation=1
    )
    # the person's active time driving the agent; the agent's own (cli) time is nobody's time
    (driving,) = kinds["TimeAllocation"]
    assert (driving.activity, driving.origin, driving.minutes) == ("directing_ai", "agent_telemetry", 95.5 / 60)
    facts = kinds["AgentTurnFact"]
    assert Counter(f.kind for f in facts) == Counter(prompt=2, model_call=3, activity=5, tool_call=1, lines=1)
    assert len({f.turn_id for f in facts if f.kind != "lines"}) == 2 and len({f.session_id for f in facts}) == 1
    calls = [f for f in facts if f.kind == "model_call"]
    assert sorted(f.duration_s for f in calls) == [0.8, 1.5, 2.5]
    assert {f.model for f in calls} == {"claude-sonnet-4-5", "claude-haiku-4-5"}
    assert [f.lines_added for f in facts if f.kind == "lines"] == [120]
    assert all(t.source.tool == "claude-code" for t in events)
    assert all(t.team == "pretraining" for t in events)
    spend = kinds["Spend"]
    assert sum(s.amount_usd for s in spend) == pytest.approx(0.06)
    assert sum(s.input_tokens for s in spend) == 600 and sum(s.output_tokens for s in spend) == 50
    assert not any(s.priced for s in spend), "Claude Code reports its cost"
    assert Counter((r.action, r.oversight) for r in kinds["Review"]) == Counter(
        {("approved", "person"): 1, ("rejected", "person"): 1, ("approved", "rule"): 1, ("intervened", "person"): 1}
    )
    prompts = {f.turn_id for f in facts if f.kind == "prompt"}
    assert {r.task_id for r in kinds["Review"]} == prompts, "a decision reviews its turn's task"
    assert Counter(c.kind for c in kinds["Contribution"]) == Counter(commit=2, pull_request=1)
    assert all(c.first_author == "ai" and c.ai_share == 1.0 for c in kinds["Contribution"])
    assert len({e.actor for e in events}) == 1 and "@" not in events[0].actor
    assert otlp["otlp_unmapped"] == {
        "metric:claude_code.session.count": 1,
        "metric:claude_code.active_time.total[type=cli]": 1,
    }
    assert otlp["otlp_superseded"] == {
        "metric:claude_code.cost.usage": 2,
        "metric:claude_code.token.usage": 5,
        "metric:claude_code.code_edit_tool.decision": 2,
    }
    assert 'autoscope_otlp_unmapped_total{kind="metric:claude_code.session.count"} 1.0' in prom


def test_metrics_preferred_when_configured(tmp_path: Path, kafka: KafkaSettings) -> None:
    with TestClient(make_app(tmp_path, kafka, claude_code_usage_from="metrics")) as client:
        assert post_json(client, "logs", logs_body(EVENTS, RESOURCE, SCOPE)).status_code == 200
        assert post_json(client, "metrics", cc_metrics(T0 + 60_000_000_000)).status_code == 200
        otlp = client.get("/healthz").json()["otlp"]
    kinds = by_type(consume(kafka, 24))
    # the turn facts stay (a turn's model time comes from its api_request records either way)
    assert Counter({k: len(v) for k, v in kinds.items()}) == Counter(
        AgentTurnFact=12, Spend=6, Review=2, Contribution=3, TimeAllocation=1
    )
    spend = kinds["Spend"]
    assert sum(s.amount_usd for s in spend) == pytest.approx(0.06)
    assert sum(s.input_tokens or 0 for s in spend) == 600
    assert sum(s.output_tokens or 0 for s in spend) == 50
    assert Counter(r.action for r in kinds["Review"]) == Counter(approved=1, rejected=1)
    assert otlp["otlp_superseded"] == {"log:claude_code.api_request": 3, "log:claude_code.tool_decision": 4}
    assert otlp["otlp_unmapped"]["metric:claude_code.token.usage[type=cacheRead]"] == 1


def test_resent_export_keeps_its_event_ids(tmp_path: Path, kafka: KafkaSettings) -> None:
    with TestClient(make_app(tmp_path, kafka)) as client:
        for _ in range(2):  # an exporter's retry of the same payload
            assert post_json(client, "logs", logs_body(EVENTS, RESOURCE, SCOPE)).status_code == 200
    # 11 facts, 3 spend, 4 reviews, twice; the session's grant once (the collector remembers it)
    events = consume(kafka, 37)
    assert len(events) == 37 and len({e.event_id for e in events}) == 19  # absorbed downstream


def test_cumulative_active_time_becomes_minutes_without_double_counting(tmp_path: Path, kafka: KafkaSettings) -> None:
    """A cumulative counter (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative) sends
    its running total each export: 60 s, the same export again, then 150 s is 1 + 1.5 minutes."""

    def export(total: float, n: int) -> dict[str, Any]:
        at = point(total, T0 + n * 60_000_000_000, {**WHO, "type": "user"}, start_ns=T0)
        return metrics_body(
            [sum_metric("claude_code.active_time.total", [at], 2, "s")], RESOURCE, scope="com.anthropic.claude_code"
        )

    with TestClient(make_app(tmp_path, kafka)) as client:
        for body in (export(60.0, 1), export(60.0, 1), export(150.0, 2)):
            assert post_json(client, "metrics", body).status_code == 200
    events = consume(kafka, 2)
    assert sorted(e.minutes for e in events) == [1.0, 1.5]
