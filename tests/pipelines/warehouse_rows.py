"""Build small warehouses by inserting rows straight into the event tables.

Every builder also registers its event in ``event_ids`` (ingested now), as the ingester does,
so the incremental job sees it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import duckdb

from autoscope.warehouse.schema import migrate

_ids = itertools.count()
MONDAY = dt.datetime(2026, 9, 7, 10)  # 2026-W37


def warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    migrate(conn)
    return conn


def _new_id(conn: duckdb.DuckDBPyConnection, type_: str) -> str:
    n = next(_ids)
    event_id = f"e{n}"
    conn.execute("INSERT INTO event_ids VALUES (?, ?, now()::TIMESTAMP, 'test', 0, ?)", [event_id, type_, n])
    return event_id


def add_task(
    conn: duckdb.DuckDBPyConnection,
    *,
    actor: str,
    team: str = "t1",
    executor: str = "ai",
    outcome: str = "success",
    human_minutes: float = 10.0,
    task_id: str | None = None,
    at: dt.datetime = MONDAY,
    category: str = "analysis",
    rung: str = "engineering",
    family: str | None = None,
    size_source: str | None = None,
) -> str:
    event_id = _new_id(conn, "task")
    task_id = task_id or f"task-{event_id}"
    conn.execute(
        "INSERT INTO tasks VALUES"
        " (?, ?, ?, ?, 'tool', '1', ?, ?, ?, 'supervised', ?, 'engineer', ?, ?, 1.0, ?, NULL, ?)",
        [
            event_id,
            at,
            actor,
            team,
            task_id,
            family or category,
            executor,
            category,
            rung,
            human_minutes,
            outcome,
            size_source,
        ],
    )
    return task_id


def add_review(
    conn: duckdb.DuckDBPyConnection,
    task_id: str,
    action: str,
    minutes: float = 5.0,
    actor: str = "reviewer",
    at: dt.datetime = MONDAY,
    team: str = "t1",
    oversight: str | None = None,
) -> None:
    event_id = _new_id(conn, "review")
    conn.execute(
        # by name: contract revision 6 added reviewer_kind (None reads as a person)
        "INSERT INTO reviews (event_id, occurred_at, actor, team, tool, tool_version, task_id, reviewer, action,"
        " minutes, oversight) VALUES (?, ?, ?, ?, 'tool', '1', ?, ?, ?, ?, ?)",
        [event_id, at, actor, team, task_id, actor, action, minutes, oversight],
    )


def add_experiment(
    conn: duckdb.DuckDBPyConnection,
    *,
    actor: str,
    designed_by: str,
    hours: float,
    team: str = "t1",
    at: dt.datetime = MONDAY,
) -> None:
    event_id = _new_id(conn, "experiment")
    conn.execute(
        "INSERT INTO experiments VALUES (?, ?, ?, ?, 'tool', '1', ?, ?, ?, 'h100', 'sweep', NULL)",
        [event_id, at, actor, team, f"x{event_id}", designed_by, hours],
    )


def add_contribution(
    conn: duckdb.DuckDBPyConnection,
    *,
    actor: str,
    first_author: str,
    ai_share: float,
    team: str = "t1",
    at: dt.datetime = MONDAY,
    lines_added: int | None = None,
    line_class: str | None = None,
    on_default_branch: bool | None = None,
) -> None:
    event_id = _new_id(conn, "contribution")
    conn.execute(
        "INSERT INTO contributions VALUES (?, ?, ?, ?, 'tool', '1', ?, 'commit', ?, ?, ?, ?, ?, ?)",
        [
            event_id,
            at,
            actor,
            team,
            f"c{event_id}",
            first_author,
            ai_share,
            lines_added,
            None if lines_added is None else 0,
            line_class,
            on_default_branch,
        ],
    )


def add_deployment(
    conn: duckdb.DuckDBPyConnection,
    *,
    actor: str,
    model_id: str,
    internal_at: dt.datetime,
    public_at: dt.datetime | None,
    at: dt.datetime | None = None,
    team: str = "t1",
) -> None:
    event_id = _new_id(conn, "model_deployment")
    conn.execute(
        "INSERT INTO model_deployments VALUES (?, ?, ?, ?, 'tool', '1', ?, ?, ?)",
        [event_id, at or internal_at, actor, team, model_id, internal_at, public_at],
    )


def add_milestone(
    conn: duckdb.DuckDBPyConnection,
    *,
    actor: str,
    run_id: str,
    compute: float,
    baseline: str | None,
    recipe: str = "dense-7b",
    loss: float = 2.2,
    at: dt.datetime = MONDAY,
    team: str = "t1",
) -> None:
    event_id = _new_id(conn, "training_milestone")
    conn.execute(
        "INSERT INTO training_milestones VALUES (?, ?, ?, ?, 'tool', '1', ?, ?, ?, ?, ?)",
        [event_id, at, actor, team, run_id, recipe, loss, compute, baseline],
    )


def add_impression(
    conn: duckdb.DuckDBPyConnection,
    *,
    actor: str,
    question: str,
    score: int,
    team: str = "t1",
    at: dt.datetime = MONDAY,
) -> None:
    event_id = _new_id(conn, "impression")
    conn.execute(
        "INSERT INTO impressions VALUES (?, ?, ?, ?, 'tool', '1', ?, ?, [])",
        [event_id, at, actor, team, question, score],
    )


def add_spend(
    conn: duckdb.DuckDBPyConnection,
    *,
    actor: str,
    category: str,
    amount: float,
    team: str = "t1",
    at: dt.datetime = MONDAY,
) -> None:
    event_id = _new_id(conn, "spend")
    # by name: later contract revisions add optional spend columns (cache tokens, revision 5)
    conn.execute(
        "INSERT INTO spend (event_id, occurred_at, actor, team, tool, tool_version, category, amount_usd) "
        "VALUES (?, ?, ?, ?, 'tool', '1', ?, ?)",
        [event_id, at, actor, team, category, amount],
    )
