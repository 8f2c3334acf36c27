"""Reading ``indicator_values`` for a report period: the period itself, its weeks, the one before.

Periods are written as the indicator job labels them: ``2026-Q3`` (quarter), ``2026-09``
(month), ``2026-W37`` (ISO week). Their bounds, labels and nesting come from
:mod:`autoscope.pipelines.periods`, the module the job itself uses, so the report can never
disagree with the job about which week belongs where: a week belongs to the month (and
quarter) of its Thursday — ISO 8601's rule — so 2026-W40 (Mon 28 Sep – Sun 4 Oct) is in Q4.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import duckdb
import polars as pl

from autoscope.pipelines.periods import bounds, label, parent

_FORMS = {
    "quarter": re.compile(r"^\d{4}-Q[1-4]$"),
    "month": re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
    "week": re.compile(r"^\d{4}-W\d{2}$"),
}


class PeriodError(ValueError):
    """A period that is not written like the indicator job writes periods."""


@dataclasses.dataclass(frozen=True)
class Period:
    label: str
    period_type: str  # week | month | quarter
    start: dt.date  # first day (Monday for a week)
    end: dt.date  # first day after

    def previous(self) -> Period:
        return parse_period(label(self.period_type, self.start - dt.timedelta(days=1)))

    def contains(self, period_type: str, label_: str) -> bool:
        """Is the period ``label_`` of ``period_type`` inside this one (by the job's nesting)?"""
        while period_type != self.period_type:
            up = parent(period_type, label_)
            if up is None:
                return False
            period_type, label_ = up
        return label_ == self.label

    def weeks(self) -> list[str]:
        """ISO weeks whose Thursday falls in this period, in order."""
        return self.within("week")

    def within(self, period_type: str) -> list[str]:
        """Labels of ``period_type`` inside this period, in order (this one for its own type)."""
        if period_type == self.period_type:
            return [self.label]
        out: list[str] = []
        day = self.start - dt.timedelta(days=7)
        while day < self.end + dt.timedelta(days=7):
            lab = label(period_type, day)
            if lab not in out and self.contains(period_type, lab):
                out.append(lab)
            day += dt.timedelta(days=1)
        return out


def parse_period(text: str) -> Period:
    """The period a label names; :class:`PeriodError` says which forms are accepted."""
    for period_type, form in _FORMS.items():
        if form.match(text):
            try:
                start, end = bounds(period_type, text)
            except ValueError:  # e.g. 2026-W54: the year has no such ISO week
                year, week = text.split("-W")
                raise PeriodError(f"{text}: {year} has no ISO week {int(week)}") from None
            return Period(text, period_type, start.date(), end.date())
    raise PeriodError(f"period {text!r} must look like 2026-Q3 (quarter), 2026-09 (month) or 2026-W37 (ISO week)")


def chart_weeks(period: Period, before: int = 1) -> list[str]:
    """The weeks a chart shows: ``before`` periods of context, then the period's own weeks."""
    if period.period_type == "week":  # a week alone is no trend: show the 8 weeks ending there
        weeks, p = [period.label], period
        for _ in range(7):
            p = p.previous()
            weeks.insert(0, p.label)
        return weeks
    chain = [period]
    for _ in range(before):
        chain.insert(0, chain[0].previous())
    weeks: list[str] = []
    for item in chain:
        weeks.extend(w for w in overlapping_weeks(item) if w not in weeks)
    return weeks


def overlapping_weeks(period: Period) -> list[str]:
    """ISO weeks with at least one day in ``period``, in order: its own weeks (by ISO's Thursday
    rule) and the weeks straddling its edges. A month's charts need the straddling ones: a month
    whose only events fall in a week that belongs to the next month (2026-08 and Monday 31
    August, in 2026-W36) still has a week to show, so charts never say "no data" beside numbers."""
    if period.period_type == "week":
        return [period.label]
    out: list[str] = []
    day = period.start
    while day < period.end:
        week = label("week", day)
        if week not in out:
            out.append(week)
        day += dt.timedelta(days=1)
    return out


# ---------------------------------------------------------------- the stored cells


@dataclasses.dataclass
class Cell:
    """One stored row of ``indicator_values`` (None: no such row), as the page shows it.

    ``dp`` says the period was released under differential privacy: there, a row that is not
    suppressed but has no value was withheld by the DP job (it has no mechanism for that
    statistic), which must read as such and not as a missing number.
    """

    row: dict | None
    dp: bool = False

    @property
    def missing(self) -> bool:
        return self.row is None

    @property
    def suppressed(self) -> bool:
        return bool(self.row and self.row["suppressed"])

    @property
    def withheld(self) -> bool:
        return self.dp and self.row is not None and not self.row["suppressed"] and self.row["value"] is None

    @property
    def value(self) -> float | None:
        return None if self.row is None or self.row["suppressed"] else self.row["value"]


def find(
    frame: pl.DataFrame,
    indicator: str,
    metric: str,
    ptype: str,
    period: str,
    cut: str = "lab",
    cut_value: str = "all",
    dp: bool = False,
) -> Cell:
    """The cell of one (indicator, metric, period, cut) in ``frame``."""
    rows = frame.filter(
        (pl.col("indicator") == indicator)
        & (pl.col("metric") == metric)
        & (pl.col("period_type") == ptype)
        & (pl.col("period") == period)
        & (pl.col("cut") == cut)
        & (pl.col("cut_value") == cut_value)
    )
    return Cell(rows.row(0, named=True) if rows.height else None, dp)


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
