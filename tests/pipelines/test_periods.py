"""Period labels at their boundaries, checked against Python's own ISO calendar."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from autoscope.pipelines.periods import period_sql

MOMENTS = [
    dt.datetime(2025, 12, 28, 23, 59, 59),  # Sunday: last of 2025-W52
    dt.datetime(2025, 12, 29, 0, 0),  # Monday: ISO year 2026 begins in calendar 2025
    dt.datetime(2026, 1, 4, 23, 59, 59),  # Sunday: still 2026-W01
    dt.datetime(2026, 1, 5, 0, 0),  # Monday midnight UTC: 2026-W02
    dt.datetime(2026, 2, 15, 12, 0),  # single-digit week, zero-padded: 2026-W07
    dt.datetime(2026, 12, 31, 23, 0),  # 2026 has 53 ISO weeks
    dt.datetime(2027, 1, 3, 23, 59, 59),  # Sunday: calendar 2027, ISO 2026-W53
    dt.datetime(2027, 1, 4, 0, 0),  # 2027-W01
]


def labels(period_type: str) -> list[str]:
    conn = duckdb.connect()
    try:
        values = ", ".join(f"({i}, ?::TIMESTAMP)" for i in range(len(MOMENTS)))
        rows = conn.execute(
            f"SELECT {period_sql(period_type, 'moment')} FROM (VALUES {values}) AS t(i, moment) ORDER BY i",
            MOMENTS,
        ).fetchall()
    finally:
        conn.close()
    return [row[0] for row in rows]


def test_iso_weeks_match_python_isocalendar() -> None:
    python = [f"{m.isocalendar().year}-W{m.isocalendar().week:02d}" for m in MOMENTS]
    assert labels("week") == python
    assert python[1] == "2026-W01" and python[4] == "2026-W07" and python[5] == python[6] == "2026-W53"


def test_months_and_quarters_follow_the_calendar() -> None:
    assert labels("month") == [f"{m.year}-{m.month:02d}" for m in MOMENTS]
    assert labels("quarter") == [f"{m.year}-Q{(m.month - 1) // 3 + 1}" for m in MOMENTS]


def test_unknown_period_type_is_refused() -> None:
    with pytest.raises(ValueError, match="week, month, quarter"):
        period_sql("fortnight")


def test_a_period_is_complete_once_its_end_is_past_in_utc() -> None:
    from autoscope.pipelines.periods import is_complete

    end_of_q3 = dt.datetime(2026, 10, 1)
    assert not is_complete("2026-Q3", end_of_q3 - dt.timedelta(microseconds=1))
    assert is_complete("2026-Q3", end_of_q3)
    assert is_complete("2026-09", end_of_q3) and not is_complete("2026-10", end_of_q3)
    assert not is_complete("2026-W40", end_of_q3)  # Mon 28 Sep – Sun 4 Oct
    # an aware "now" is compared in UTC: 01:30 on 1 Oct in UTC+2 is still 30 Sep in UTC
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert not is_complete("2026-Q3", dt.datetime(2026, 10, 1, 1, 30, tzinfo=plus_two))
    with pytest.raises(ValueError, match="must look like"):
        is_complete("Q3-2026", end_of_q3)


def test_latest_complete_period_with_events_prefers_quarters_then_months_then_weeks(tmp_path) -> None:
    from autoscope.pipelines.periods import latest_complete_period
    from tests.pipelines.warehouse_rows import add_task, warehouse

    conn = warehouse(tmp_path / "w.duckdb")
    assert latest_complete_period(conn, now=dt.datetime(2026, 12, 2)) is None  # no events at all
    add_task(conn, actor="a", at=dt.datetime(2026, 10, 14, 9))  # 2026-W42, 2026-10, 2026-Q4
    # Q4 is not over on 2 Dec: the latest complete month with events is October
    assert latest_complete_period(conn, now=dt.datetime(2026, 12, 2)) == "2026-10"
    # before October ended, only its weeks are complete
    assert latest_complete_period(conn, now=dt.datetime(2026, 10, 25)) == "2026-W42"
    assert latest_complete_period(conn, now=dt.datetime(2026, 10, 16)) is None
    add_task(conn, actor="b", at=dt.datetime(2026, 8, 3, 9))
    assert latest_complete_period(conn, now=dt.datetime(2026, 12, 2)) == "2026-Q3"
    assert latest_complete_period(conn, ("month",), now=dt.datetime(2026, 12, 2)) == "2026-10"
    assert latest_complete_period(conn, now=dt.datetime(2027, 1, 1)) == "2026-Q4"
