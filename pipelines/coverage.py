"""How much of a period has data, and whether it is complete: what the report, the dashboard
and the export say about every period they show, so that a partial period is never read as a
whole one, and "no activity" is never confused with "not covered".

Decisions (named here, used everywhere):

* **as of** — the time the stored indicators were computed (the newest ``computed_at``). A
  period is *complete* when its end is before that instant (:func:`periods.is_complete`):
  the numbers cannot hold events of a period that had not ended when they were computed.
  Using the data's time, not the clock's, also keeps a re-export byte-identical.
* **covered** — the warehouse was collecting during (part of) the period: the period ends
  after the first ISO week that has indicator rows begins, and starts before *as of*. A
  covered period without rows had *no activity*; a period outside that span is *not covered*
  (nothing says whether anyone worked then, or it had not begun when the indicators were computed).
* **how much has data** — the ISO weeks with a day in the period that have indicator rows,
  out of all such weeks, and out of those already begun (a week straddling the period's edge
  counts: its events may be the period's only ones).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl

from autoscope.pipelines.periods import bounds, is_complete
from autoscope.pipelines.report.data import overlapping_weeks, parse_period

ACTIVITY, NO_ACTIVITY, NOT_COVERED = "activity", "no_activity", "not_covered"


@dataclasses.dataclass(frozen=True)
class Span:
    """When the warehouse collected: from the start of its first week with rows to ``as_of``."""

    since: dt.datetime | None
    as_of: dt.datetime | None

    @classmethod
    def of(cls, frame: pl.DataFrame, first_week: str | None = None) -> Span:
        """From stored rows (``first_week``: the earliest week with rows, when known beyond ``frame``)."""
        if not frame.height:
            return cls(None, None)
        weeks = frame.filter(pl.col("period_type") == "week")["period"].unique().to_list()
        if first_week:
            weeks.append(first_week)
        since = min((bounds("week", w)[0] for w in weeks), default=None)
        as_of = frame["computed_at"].max()
        return cls(since, as_of)


@dataclasses.dataclass(frozen=True)
class Coverage:
    period_type: str
    period: str
    status: str  # activity | no_activity | not_covered
    complete: bool
    weeks_with_data: int
    weeks_begun: int
    weeks_total: int

    @property
    def label(self) -> str:
        """How the page names the period's state, e.g. "partial: 4 of 13 weeks have data"."""
        if self.status == NOT_COVERED:
            return "not covered: Autoscope was not collecting then (or the period had not begun)"
        if self.status == NO_ACTIVITY:
            return "covered, no activity recorded"
        if self.period_type == "week":
            return "complete" if self.complete else "partial: the week was still running"
        weeks = f"{self.weeks_with_data} of {self.weeks_total} weeks have data"
        if self.complete:
            return f"complete ({weeks})"
        return f"partial: still running, {weeks} ({self.weeks_begun} begun)"

    def as_dict(self) -> dict:
        return {
            "period_type": self.period_type,
            "period": self.period,
            "status": self.status,
            "complete": self.complete,
            "weeks_with_data": self.weeks_with_data,
            "weeks_begun": self.weeks_begun,
            "weeks_total": self.weeks_total,
        }


def coverage(period_type: str, label: str, frame: pl.DataFrame, span: Span) -> Coverage:
    """The coverage of one period given the stored rows in ``frame`` (which must hold its weeks)."""
    start, end = bounds(period_type, label)
    weeks = overlapping_weeks(parse_period(label))
    have = set(frame.filter(pl.col("period_type") == "week")["period"].unique().to_list())
    own = frame.filter((pl.col("period_type") == period_type) & (pl.col("period") == label)).height
    with_data = sum(w in have for w in weeks)
    as_of = span.as_of
    begun = sum(bounds("week", w)[0] < as_of for w in weeks) if as_of else 0
    complete = bool(as_of) and is_complete(label, as_of)
    if own or with_data:
        status = ACTIVITY
    elif span.since is not None and as_of is not None and end > span.since and start < as_of:
        status = NO_ACTIVITY
    else:
        status = NOT_COVERED
    return Coverage(period_type, label, status, complete, with_data, begun, len(weeks))


def comparable(now: Coverage, before: Coverage) -> str | None:
    """None when the two periods compare like with like, else why not, in words."""
    if now.complete == before.complete and now.weeks_with_data == before.weeks_with_data:
        return None
    if not now.complete and before.complete:
        return (
            f"{now.period} is partial ({now.weeks_with_data} of {now.weeks_total} weeks with data) and "
            f"{before.period} complete: not like for like"
        )
    if now.weeks_with_data != before.weeks_with_data and now.period_type != "week":
        return (
            f"{now.period} has data in {now.weeks_with_data} weeks, {before.period} in "
            f"{before.weeks_with_data}: not like for like"
        )
    return None
