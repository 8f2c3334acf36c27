"""Build small warehouses by inserting rows straight into the event tables."""

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


def add_task(conn: duckdb.DuckDBPyConnection, *, actor: str, team: str = "t1", executor: str = "ai",
             outcome: str = "success", human_minutes: float = 10.0, task_id: str | None = None,
             at: dt.datetime = MONDAY, category: str = "analysis", rung: str = "engineering") -> str:
    n = next(_ids)
    task_id = task_id or f"task-{n}"
    conn.execute(
        "INSERT INTO tasks VALUES (?, ?, ?, ?, 'tool', '1', ?, ?, ?, 'supervised', ?, 'engineer', ?, ?, 1.0, ?, NULL)",
        [f"e{n}", at, actor, team, task_id, category, executor, category, rung, human_minutes, outcome],
    )
    return task_id


def add_review(conn: duckdb.DuckDBPyConnection, task_id: str, action: str, minutes: float = 5.0,
               actor: str = "reviewer", at: dt.datetime = MONDAY) -> None:
    n = next(_ids)
    conn.execute("INSERT INTO reviews VALUES (?, ?, ?, 't1', 'tool', '1', ?, ?, ?, ?)",
                 [f"e{n}", at, actor, task_id, actor, action, minutes])


def add_experiment(conn: duckdb.DuckDBPyConnection, *, actor: str, designed_by: str, hours: float,
                   team: str = "t1", at: dt.datetime = MONDAY) -> None:
    n = next(_ids)
    conn.execute("INSERT INTO experiments VALUES (?, ?, ?, ?, 'tool', '1', ?, ?, ?, 'h100', 'sweep', NULL)",
                 [f"e{n}", at, actor, team, f"x{n}", designed_by, hours])
