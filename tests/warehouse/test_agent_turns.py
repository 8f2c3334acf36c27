"""Issue 12: a coding agent's prompt turn is assembled in the warehouse from per-record facts
that arrive over many exports, in any order, across ingester restarts; one AI task per turn
that made a model call, and never twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from autoscope.collector import contract
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.warehouse.ingester import Ingester
from autoscope.warehouse.reader import open_read_only
from tests.event_samples import event
from tests.warehouse.streams import produce

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
_n = 0


def fact(at_s: float, session: str, kind: str, turn: str | None, **fields: Any) -> contract.Event:
    global _n
    _n += 1
    body = event(
        "agent_turn_fact",
        **{
            "event_id": f"0190d6a2-7a9b-7c1e-8f00-{_n:012x}",
            "occurred_at": (T0 + dt.timedelta(seconds=at_s)).isoformat(),
            "session_id": session,
            "kind": kind,
            "turn_id": turn,
            "model": None,
            "duration_s": None,
            **fields,
        },
    )
    return contract.convert_event(body)


# Claude-Code-like: every fact names its turn; a line count (a metric) names only the session
CLAUDE = [
    fact(0, "s1", "prompt", "p1", human_minutes=30.0, category="analysis", size_source="default"),
    fact(2, "s1", "model_call", "p1", model="claude-x", duration_s=1.5),
    fact(5, "s1", "tool_call", "p1"),
    fact(8, "s1", "model_call", "p1", model="claude-y", duration_s=0.5),
    fact(9, "s1", "lines", None, lines_added=5, lines_removed=1),
    fact(20, "s1", "slash_command", "p2"),  # /clear: its session-title call is no task either
    fact(21, "s1", "model_call", "p2", model="claude-x", duration_s=0.2),
    fact(30, "s1", "prompt", "p3"),  # answered without a model call (an error, Ctrl-C): no task
    fact(31, "s1", "activity", "p3"),
]
# Codex-like: records name no turn; each belongs to the latest prompt of its conversation
CODEX = [
    fact(0, "s2", "prompt", "q1"),
    fact(1, "s2", "model_call", None, model="gpt-x", duration_s=0.25),
    fact(3, "s2", "activity", None),
    fact(10, "s2", "prompt", "q2"),
    fact(11, "s2", "model_call", None, model="gpt-x", duration_s=0.5),
]


def tasks(db: Path) -> dict[str, tuple]:
    with open_read_only(db) as conn:
        rows = conn.execute(
            "SELECT task_id, executor, duration_s, model, human_minutes, category, size_source"
            " FROM tasks ORDER BY task_id"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_turns_assembled_across_exports_in_any_order_and_restarts(kafka: KafkaSettings, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    # the last records first, one export each, and an ingester restart before the prompts arrive
    later = [f for f in CLAUDE + CODEX if f.kind not in ("prompt", "slash_command")]
    produce(kafka, list(reversed(later)), per_message=1)
    with Ingester(kafka, db) as ingester:
        assert ingester.run_until(len(later), timeout=30)
    assert tasks(db) == {}, "no prompt yet: no task"
    prompts = [f for f in CLAUDE + CODEX if f.kind in ("prompt", "slash_command")]
    produce(kafka, prompts, per_message=2)
    produce(kafka, CLAUDE + CODEX, per_message=4)  # a collector's replay of all of it
    with Ingester(kafka, db) as ingester:
        assert ingester.run_until(lambda i: i.stats.ingested == len(prompts) and i.stats.duplicates >= 14, timeout=30)

    assert tasks(db) == {
        "p1": ("ai", 8.0, "claude-x", 30.0, "analysis", "default"),  # to its last record; lines add no time
        "q1": ("ai", 3.0, "gpt-x", 15.0, "experiment_run", "default"),
        "q2": ("ai", 1.0, "gpt-x", 15.0, "experiment_run", "default"),
    }
    with open_read_only(db) as conn:
        turns = conn.execute(
            "SELECT turn_id, slash_command, wall_s, model_s, model_calls, tool_calls,"
            " lines_added, lines_removed FROM agent_turns ORDER BY turn_id"
        ).fetchall()
        stored = conn.execute("SELECT count(*) FROM tasks WHERE event_id LIKE 'turn:%'").fetchall()
    assert turns == [
        ("p1", False, 8.0, 2.0, 2, 1, 5, 1),
        ("p2", True, 1.0, 0.2, 1, 0, 0, 0),
        ("p3", False, 1.0, 0.0, 0, 0, 0, 0),
        ("q1", False, 3.0, 0.25, 1, 0, 0, 0),
        ("q2", False, 1.0, 0.5, 1, 0, 0, 0),
    ]
    assert stored == [(3,)]
