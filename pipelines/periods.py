"""Reporting periods as DuckDB expressions over a UTC ``occurred_at`` TIMESTAMP, and their bounds.

ISO weeks follow ISO 8601 (``%G-W%V``): 2026-12-31 is in 2026-W53, 2027-01-01 too.
"""

from __future__ import annotations

import datetime as dt

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


def is_complete(period_type: str, label_: str, now: dt.datetime) -> bool:
    """A period is complete when its end instant is in the past of ``now`` (UTC; naive = UTC)."""
    _, end = bounds(period_type, label_)
    if now.tzinfo is not None:
        now = now.astimezone(dt.UTC).replace(tzinfo=None)
    return end <= now


def latest_complete_period(period_type: str, labels: list[str], now: dt.datetime) -> str | None:
    """The newest of ``labels`` (periods of ``period_type`` that have data) that is complete at ``now``."""
    done = [p for p in labels if is_complete(period_type, p, now)]
    return max(done, key=lambda p: bounds(period_type, p)[0]) if done else None
