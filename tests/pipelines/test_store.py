"""Storing: the recomputed periods' rows are replaced in one transaction, nothing else moves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from autoscope.pipelines.jobs import compute_indicators, run_indicators, store_indicators
from tests.pipelines.warehouse_rows import add_task, warehouse

W37, W38 = dt.datetime(2026, 9, 7, 10), dt.datetime(2026, 9, 14, 10)


def stored(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.execute("SELECT * EXCLUDE (computed_at) FROM indicator_values ORDER BY ALL").fetchall()


def test_run_twice_gives_the_same_table_as_the_returned_frame(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for i in range(6):
        add_task(conn, actor=f"a{i}", team="t1", at=W37)
        add_task(conn, actor=f"b{i}", team="t2", at=W38, executor="human")
    frame = run_indicators(conn)
    first = stored(conn)
    assert first == sorted(frame.drop("computed_at").rows())
    run_indicators(conn)
    assert stored(conn) == first


def test_only_recomputed_periods_are_replaced(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for i in range(6):
        add_task(conn, actor=f"a{i}", team="t1", at=W37)
        add_task(conn, actor=f"a{i}", team="t1", at=W38)
        add_task(conn, actor=f"b{i}", team="gone", at=W38)
    run_indicators(conn)
    week37 = conn.execute("SELECT * FROM indicator_values WHERE period = '2026-W37' ORDER BY ALL").fetchall()

    conn.execute("DELETE FROM tasks WHERE team = 'gone'")
    add_task(conn, actor="a0", team="t1", at=W38, executor="human")
    fresh = compute_indicators(conn).filter(pl.col("period") == "2026-W38")
    store_indicators(conn, fresh)

    assert conn.execute("SELECT * FROM indicator_values WHERE period = '2026-W37' ORDER BY ALL").fetchall() == week37
    teams = conn.execute(
        "SELECT DISTINCT cut_value FROM indicator_values WHERE period = '2026-W38' AND cut IN ('lab', 'team')"
    ).fetchall()
    assert sorted(t for (t,) in teams) == ["all", "t1"], "a team no longer in the period leaves no stale row"
    ai_share = conn.execute(
        "SELECT value FROM indicator_values WHERE period = '2026-W38' AND cut = 'lab' AND metric = 'ai_share'"
        " AND indicator = 'automation_share'"
    ).fetchall()
    assert ai_share == [(6 / 7,)]


def test_a_failed_store_changes_nothing(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for i in range(6):
        add_task(conn, actor=f"a{i}", at=W37)
    frame = run_indicators(conn)
    before = stored(conn)
    with pytest.raises(duckdb.ConstraintException):
        store_indicators(conn, pl.concat([frame, frame.head(1)]))  # a duplicate key
    assert stored(conn) == before
    conn.execute("SELECT 1").fetchall()  # the connection is usable afterwards


def test_suppressed_cells_are_stored_with_null_value(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    for i in range(4):
        add_task(conn, actor=f"a{i}", at=W37)
    run_indicators(conn)
    rows = conn.execute("SELECT DISTINCT suppressed, value, n_events, n_actors, k FROM indicator_values").fetchall()
    assert rows == [(True, None, None, None, 5)]
