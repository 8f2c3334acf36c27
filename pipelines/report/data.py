"""Reading ``indicator_values`` for a report period: the period itself, its weeks, the one before.

Periods are written as the indicator job labels them: ``2026-Q3`` (quarter), ``2026-09``
(month), ``2026-W37`` (ISO week). A week belongs to the month or quarter of its Thursday
(ISO 8601's rule for which year a week is in), so 2026-W40 (Mon 28 Sep – Sun 4 Oct) is in Q4.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import duckdb
import polars as pl

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class PeriodError(ValueError):
    """A period that is not written like the indicator job writes periods."""


@dataclasses.dataclass(frozen=True)
class Period:
    label: str
    period_type: str  # week | month | quarter
    start: dt.date    # first day (Monday for a week)
    end: dt.date      # first day after

    def previous(self) -> "Period":
        return parse_period(_shift(self, -1))

    def weeks(self) -> list[str]:
        """ISO weeks whose Thursday falls in this period, in order."""
        if self.period_type == "week":
            return [self.label]
        first = self.start - dt.timedelta(days=self.start.weekday())  # Monday on/before start
        out = []
        monday = first
        while monday < self.end:
            thursday = monday + dt.timedelta(days=3)
            if self.start <= thursday < self.end:
                year, week, _ = thursday.isocalendar()
                out.append(f"{year}-W{week:02d}")
            monday += dt.timedelta(days=7)
        return out


def parse_period(label: str) -> Period:
    if m := _QUARTER.match(label):
        year, q = int(m[1]), int(m[2])
        start = dt.date(year, 3 * q - 2, 1)
        end = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
        return Period(label, "quarter", start, end)
    if m := _MONTH.match(label):
        year, month = int(m[1]), int(m[2])
        return Period(label, "month", dt.date(year, month, 1),
                      dt.date(year + (month == 12), 1 if month == 12 else month + 1, 1))
    if m := _WEEK.match(label):
        year, week = int(m[1]), int(m[2])
        try:
            start = dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise PeriodError(f"{label}: {year} has no ISO week {week}") from None
        return Period(label, "week", start, start + dt.timedelta(days=7))
    raise PeriodError(f"period {label!r} must look like 2026-Q3 (quarter), 2026-09 (month) or 2026-W37 (ISO week)")


def _shift(period: Period, by: int) -> str:
    if period.period_type == "quarter":
        index = period.start.year * 4 + (period.start.month - 1) // 3 + by
        return f"{index // 4}-Q{index % 4 + 1}"
    if period.period_type == "month":
        index = period.start.year * 12 + period.start.month - 1 + by
        return f"{index // 12}-{index % 12 + 1:02d}"
    year, week, _ = (period.start + dt.timedelta(weeks=by)).isocalendar()
    return f"{year}-W{week:02d}"


def chart_weeks(period: Period, before: int = 1) -> list[str]:
    """The weeks a chart shows: ``before`` periods of context, then the period's own weeks."""
    weeks: list[str] = []
    p = period
    chain = [p]
    for _ in range(before):
        p = p.previous()
        chain.insert(0, p)
    for item in chain:
        weeks.extend(w for w in item.weeks() if w not in weeks)
    if period.period_type == "week":  # a week alone is no trend: show the 8 weeks ending there
        weeks, p = [period.label], period
        for _ in range(7):
            p = p.previous()
            weeks.insert(0, p.label)
    return weeks


def has_table(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    rows = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'", [name]
    ).fetchall()
    return bool(rows[0][0])


def load_values(conn: duckdb.DuckDBPyConnection, periods: list[str] | None = None) -> pl.DataFrame:
    """Rows of ``indicator_values`` (every column it has, whatever migrations added)."""
    cursor = conn.cursor()
    try:
        if periods is None:
            table = cursor.sql("SELECT * FROM indicator_values").to_arrow_table()
        else:
            table = cursor.sql(
                "SELECT * FROM indicator_values WHERE list_contains($periods, period)", params={"periods": periods}
            ).to_arrow_table()
    finally:
        cursor.close()
    return pl.from_arrow(table)


def available_periods(frame: pl.DataFrame) -> dict[str, list[str]]:
    """period_type → its periods present, newest first."""
    out: dict[str, list[str]] = {}
    for ptype in ("quarter", "month", "week"):
        values = frame.filter(pl.col("period_type") == ptype)["period"].unique().sort(descending=True).to_list()
        if values:
            out[ptype] = values
    return out


def period_covered(frame: pl.DataFrame, period: Period) -> bool:
    """Does the table hold rows for the period itself and for its weeks?"""
    own = frame.filter((pl.col("period_type") == period.period_type) & (pl.col("period") == period.label))
    return own.height > 0
