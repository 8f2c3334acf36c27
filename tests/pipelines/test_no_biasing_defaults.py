"""No biasing defaults: a task without an executor is ``unknown`` and in no share, and a size
filled in from a default is marked all the way to the warehouse and the indicators.

The events go the real way (hooks → collector → Kafka → ingester → DuckDB file), and the
shares are checked against a computation over the events as sent, independent of the SQL.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import duckdb
import polars as pl
import pytest
from starlette.testclient import TestClient

from autoscope import agents
from autoscope.agents import runtime, shell
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.pipelines.jobs import compute_indicators
from autoscope.warehouse.ingester import Ingester
from tests.collector.otlp.conftest import log_record, logs_body, make_app, post_json
from tests.event_samples import event

pytestmark = pytest.mark.integration

WEEK = "2026-W45"  # 2026-11-02 is its Monday
# (executor or None for "not given", human_minutes, size_source or None) per actor, 6 actors
PLAN = [
    ("ai", 30, "measured"),
    ("ai", 60, None),
    ("human", 20, "estimated"),
    (None, 45, None),
    ("mixed", 10, "default"),
    (None, 15, "default"),
    ("ai", 90, "default"),
    ("human", 40, None),
]


def test_a_task_without_an_executor_is_unknown_in_every_hook() -> None:
    with runtime.capturing() as built:
        with agents.task("analysis", human_minutes=5, team="t", tool="notebook", actor="ada"):
            pass

        @agents.task("experiment_run", rung="experiments", human_minutes=60, team="t", tool="nb", actor="ada")
        def run_sweep() -> None:
            pass

        run_sweep()
    assert [e["executor"] for e in built] == ["unknown", "unknown"]
    assert {e["size_source"] for e in built} == {"estimated"}
    emitted = shell.build_event(
        "task",
        {"category": "analysis", "human_minutes": 30.0, "duration_s": 60.0, "team": "t", "tool": "sh", "actor": "ada"},
    )
    assert emitted["executor"] == "unknown"
    measured = shell.build_event(
        "task",
        {
            "category": "analysis",
            "human_minutes": 30.0,
            "duration_s": 60.0,
            "executor": "human",
            "size_source": "measured",
            "team": "t",
            "tool": "sh",
            "actor": "ada",
        },
    )
    assert (measured["executor"], measured["size_source"]) == ("human", "measured")


def _task(actor: int, executor: str | None, minutes: float, size_source: str | None) -> dict[str, object]:
    body = event(
        "task",
        event_id=str(uuid.uuid4()),
        actor=f"actor-{actor}",
        team="evals",
        task_id=f"t-{uuid.uuid4().hex[:8]}",
        human_minutes=minutes,
        outcome="success",
    )
    body.pop("executor")
    if executor is not None:
        body["executor"] = executor
    if size_source is not None:
        body["size_source"] = size_source
    return body


def test_shares_leave_unknown_out_and_the_default_size_mark_reaches_the_warehouse(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    sent = [_task(a, *PLAN[(a + i) % len(PLAN)]) for a in range(6) for i in range(len(PLAN))]
    app = make_app(tmp_path / "collector", kafka)
    with TestClient(app) as client:
        response = client.post(
            "/v1/events", content=json.dumps(sent).encode(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 200, response.text
        # a Claude Code prompt and its model call: a task (derived from the turn in the
        # warehouse, issue 12) whose size comes from the collector's task_defaults
        who = {"prompt.id": "p-1", "session.id": "s-1", "user.email": "bo@lab.example", "team": "evals"}
        prompt = log_record(
            1_793_613_600_000_000_000,
            {"event.name": "user_prompt", **who, "event.timestamp": "2026-11-02T10:00:00.000Z"},
            "claude_code.user_prompt",
        )
        call = log_record(
            1_793_613_602_000_000_000,
            {
                "event.name": "api_request",
                **who,
                "event.timestamp": "2026-11-02T10:00:02.000Z",
                "model": "m",
                "cost_usd": 0.01,
                "duration_ms": 1500,
                "input_tokens": 10,
                "output_tokens": 5,
            },
            "claude_code.api_request",
        )
        answer = post_json(
            client,
            "logs",
            logs_body([prompt, call], {"service.name": "claude-code"}, "com.anthropic.claude_code.events"),
        )
        assert answer.status_code == 200 and "partialSuccess" not in answer.json(), answer.text

    db = tmp_path / "warehouse.duckdb"
    with Ingester(kafka, db) as ingester:
        assert ingester.run_until(len(sent) + 3, timeout=30)  # + the prompt, its spend, its model call
    conn = duckdb.connect(str(db))
    stored = dict(conn.sql("SELECT size_source, count(*) FROM tasks GROUP BY ALL").fetchall())
    given = [t.get("size_source") for t in sent]
    assert stored == {
        "measured": given.count("measured"),
        "estimated": given.count("estimated"),
        "default": given.count("default") + 1,  # + the Claude Code prompt
        None: given.count(None),
    }
    assert conn.sql("SELECT size_source FROM tasks WHERE tool = 'claude-code'").fetchall() == [("default",)]
    unknown = sum("executor" not in t for t in sent)
    assert conn.execute("SELECT count(*) FROM tasks WHERE executor = 'unknown'").fetchall() == [(unknown,)]

    frame = compute_indicators(conn, k=5, period_types=["week"])
    lab = frame.filter((pl.col("period") == WEEK) & (pl.col("cut") == "lab") & ~pl.col("suppressed"))

    def value(indicator: str, metric: str) -> float:
        rows = lab.filter((pl.col("indicator") == indicator) & (pl.col("metric") == metric))
        assert rows.height == 1, (indicator, metric, lab)
        return rows["value"][0]

    # independently, over what was sent (+ the prompt: an AI task of default size)
    executors = [t.get("executor", "unknown") for t in sent] + ["ai"]
    sizes = [t.get("size_source") for t in sent] + ["default"]
    known = [i for i, e in enumerate(executors) if e != "unknown"]
    for kind in ("ai", "mixed", "human"):
        expected = sum(executors[i] == kind for i in known) / len(known)
        assert value("automation_share", f"{kind}_share") == pytest.approx(expected)
    assert value("automation_share", "unknown_share") == pytest.approx(executors.count("unknown") / len(executors))
    assert value("automation_share", "measured_share") == pytest.approx(
        sum(sizes[i] != "default" for i in known) / len(known)
    )
    ai = [i for i in known if executors[i] == "ai"]
    assert value("task_size", "measured_share") == pytest.approx(sum(sizes[i] != "default" for i in ai) / len(ai))
    minutes = [t["human_minutes"] for t in sent] + [15.0]
    assert value("automation_share", "time_weighted_ai_share") == pytest.approx(
        sum(minutes[i] for i in ai) / sum(minutes[i] for i in known)
    )
