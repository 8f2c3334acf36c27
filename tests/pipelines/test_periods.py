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
