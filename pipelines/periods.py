"""Reporting periods as DuckDB expressions over a UTC ``occurred_at`` TIMESTAMP, and their bounds.

ISO weeks follow ISO 8601 (``%G-W%V``): 2026-12-31 is in 2026-W53, 2027-01-01 too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

PERIOD_SQL: dict[str, str] = {
    "week": "strftime({col}, '%G-W%V')",
    "month": "strftime({col}, '%Y-%m')",
    "quarter": "CAST(year({col}) AS VARCHAR) || '-Q' || CAST(quarter({col}) AS VARCHAR)",
}
PERIOD_TYPES = tuple(PERIOD_SQL)


def period_sql(period_type: str, column: str = "occurred_at") -> str:
    """The SQL expression labelling ``column`` with its period of ``period_type``."""
    try:
        return PERIOD_SQL[period_type].format(col=column)
    except KeyError:
        raise ValueError(f"period_type must be one of {', '.join(PERIOD_TYPES)}, not {period_type!r}") from None


def bounds(period_type: str, label: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a period label as naive UTC datetimes."""
    if period_type == "week":
        year, week = label.split("-W")
        start = dt.datetime.combine(dt.date.fromisocalendar(int(year), int(week), 1), dt.time())
        return start, start + dt.timedelta(days=7)
    if period_type == "month":
        year, month = map(int, label.split("-"))
        end = dt.datetime(year + (month == 12), month % 12 + 1, 1)
        return dt.datetime(year, month, 1), end
    if period_type == "quarter":
        year, q = label.split("-Q")
        first = 3 * (int(q) - 1) + 1
        start = dt.datetime(int(year), first, 1)
        end = dt.datetime(int(year) + (first == 10), (first + 2) % 12 + 1, 1)
        return start, end
    raise ValueError(f"unknown period type {period_type!r}")


def label(period_type: str, when: dt.datetime | dt.date) -> str:
    """The label of the period of ``period_type`` that holds ``when`` (same as :data:`PERIOD_SQL`)."""
    if period_type == "week":
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    if period_type == "month":
        return f"{when.year}-{when.month:02d}"
    return f"{when.year}-Q{(when.month - 1) // 3 + 1}"


def midpoint_days(period_type: str, label_: str) -> float:
    """Middle of the period in days since 1970-01-01 (the time axis of trends)."""
    start, end = bounds(period_type, label_)
    return ((start - dt.datetime(1970, 1, 1)).total_seconds() + (end - start).total_seconds() / 2) / 86400


def parent(period_type: str, label_: str) -> tuple[str, str] | None:
    """The enclosing period used for cross-period suppression: month → quarter; week → the
    month of its Thursday (ISO's rule for which year a week belongs to); quarter → none."""
    if period_type == "month":
        start, _ = bounds("month", label_)
        return "quarter", label("quarter", start)
    if period_type == "week":
        start, _ = bounds("week", label_)
        return "month", label("month", start + dt.timedelta(days=3))
    return None


_LABEL_FORMS = {
    "quarter": re.compile(r"^\d{4}-Q[1-4]$"),
    "month": re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
    "week": re.compile(r"^\d{4}-W\d{2}$"),
}
#: the order in which :func:`latest_complete_period` looks: the report's natural period first
DEFAULT_ORDER = ("quarter", "month", "week")


def period_type_of(label_: str) -> str:
    """``week``, ``month`` or ``quarter`` for a label written as the job writes them."""
    for period_type, form in _LABEL_FORMS.items():
        if form.match(label_):
            return period_type
    raise ValueError(f"period {label_!r} must look like 2026-Q3 (quarter), 2026-09 (month) or 2026-W37 (ISO week)")


def _utc_naive(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now


def is_complete(period: str, now: dt.datetime | None = None) -> bool:
    """Whether the period ``period`` (a label: 2026-Q3, 2026-09, 2026-W37) has ended: its end
    instant is not after ``now`` (UTC; default the current time; a naive ``now`` is UTC)."""
    _, end = bounds(period_type_of(period), period)
    return end <= _utc_naive(now)


def periods_with_events(conn: Any, period_type: str) -> list[str]:
    """The labels of ``period_type`` in which the warehouse holds at least one event, oldest first."""
    from autoscope.warehouse.columns import TABLE_BY_TYPE

    expression = period_sql(period_type)
    union = " UNION ".join(f"SELECT DISTINCT {expression} AS period FROM {table}" for table in TABLE_BY_TYPE.values())
    return sorted(row[0] for row in conn.execute(f"SELECT DISTINCT period FROM ({union})").fetchall())


def latest_complete_period(
    conn: Any, period_types: Sequence[str] = DEFAULT_ORDER, now: dt.datetime | None = None
) -> str | None:
    """The newest *complete* period that has events, trying ``period_types`` in order: the
    latest ended quarter with data, else the latest ended month, else week. None when no period
    with events has ended yet (everything is in the current one).

    Decision: a report or export that is not asked for a period describes a period that can no
    longer change; the current one is still filling (ask for it by name to see it anyway).
    """
    for period_type in period_types:
        done = [p for p in periods_with_events(conn, period_type) if is_complete(p, now)]
        if done:
            return done[-1]
    return None
