"""What the warehouse holds for a period: its stored indicator rows, its events, its release.

The report, the export and the dashboard show only what the indicator job stored. Before they
show a period they ask here whether it is *covered* (rows for the period and for the period
types inside it that they read), whether it has *events* at all (a period without events can
never be covered, and computing it would be a full recompute for nothing — under differential
privacy, one that spends epsilon), and with which k and epsilon the stored rows were released
(``indicator_periods``): whatever they compute themselves must use those, never weaker ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import duckdb

from autoscope.pipelines.report.data import Period


@dataclasses.dataclass(frozen=True)
class Release:
    """How the stored indicators were released: the strictest k and the epsilon in force.

    ``k`` is the largest k of any stored period (None: nothing stored yet). ``epsilon`` is not
    None when any stored period was released under differential privacy; ``budget`` is the
    budget its ledger recorded.
    """

    k: int | None
    epsilon: float | None
    budget: float | None

    @property
    def dp(self) -> bool:
        return self.epsilon is not None


def stored_release(conn: duckdb.DuckDBPyConnection) -> Release:
    """The k and epsilon of what ``indicator_periods`` records (see :class:`Release`)."""
    k, epsilon = conn.execute("SELECT max(k), max(epsilon) FROM indicator_periods").fetchall()[0]
    budget = None
    if epsilon is not None:
        from autoscope.pipelines.privacy import budget_in_force

        budget = budget_in_force(conn)
    return Release(None if k is None else int(k), None if epsilon is None else float(epsilon),
                   None if budget is None else float(budget))


def period_epsilons(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], float]:
    """(period_type, period) → epsilon, for every period released under differential privacy."""
    rows = conn.execute(
        "SELECT period_type, period, epsilon FROM indicator_periods WHERE epsilon IS NOT NULL").fetchall()
    return {(pt, p): float(eps) for pt, p, eps in rows}


def needed_types(period: Period, inner: Iterable[str]) -> list[str]:
    """The period's own type, then the types inside it that are read (``inner``)."""
    return list(dict.fromkeys([period.period_type, *inner]))


def uncovered(conn: duckdb.DuckDBPyConnection, period: Period, period_types: Iterable[str]) -> list[str]:
    """What of ``period`` is not stored, in words (empty: covered).

    The period's own type needs the period's row; a type inside it (weeks of a quarter) needs
    at least one of its periods — weeks without events have no rows, and the job stores the
    periods of a quarter together, so one stored week means its quarter's weeks were computed.
    """
    missing = []
    for period_type in period_types:
        labels = period.within(period_type)
        found = conn.execute(
            "SELECT count(*) FROM indicator_values WHERE period_type = ? AND list_contains(?, period)",
            [period_type, labels]).fetchall()[0][0]
        if not found:
            missing.append(f"{period_type} {period.label}" if period_type == period.period_type
                           else f"the {period_type}s of {period.label}")
    return missing


def _event_times(conn: duckdb.DuckDBPyConnection) -> str:
    from autoscope.warehouse.columns import TABLE_BY_TYPE

    return " UNION ALL ".join(f"SELECT occurred_at FROM {table}" for table in TABLE_BY_TYPE.values())


def has_events_in(conn: duckdb.DuckDBPyConnection, period: Period) -> bool:
    """Does any event of any type fall in ``period``?"""
    rows = conn.execute(
        f"SELECT EXISTS (SELECT 1 FROM ({_event_times(conn)}) WHERE occurred_at >= ? AND occurred_at < ?)",
        [dt.datetime.combine(period.start, dt.time()), dt.datetime.combine(period.end, dt.time())],
    ).fetchall()
    return bool(rows[0][0])


def event_span(conn: duckdb.DuckDBPyConnection) -> tuple[dt.datetime, dt.datetime] | None:
    """The first and last event time in the warehouse (None: no events)."""
    first, last = conn.execute(f"SELECT min(occurred_at), max(occurred_at) FROM ({_event_times(conn)})").fetchall()[0]
    return None if first is None else (first, last)
