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
from typing import Any

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
    return Release(
        None if k is None else int(k),
        None if epsilon is None else float(epsilon),
        None if budget is None else float(budget),
    )


def period_epsilons(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], float]:
    """(period_type, period) → epsilon, for every period released under differential privacy."""
    rows = conn.execute(
        "SELECT period_type, period, epsilon FROM indicator_periods WHERE epsilon IS NOT NULL"
    ).fetchall()
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
            [period_type, labels],
        ).fetchall()[0][0]
        if not found:
            missing.append(
                f"{period_type} {period.label}"
                if period_type == period.period_type
                else f"the {period_type}s of {period.label}"
            )
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


def indicator_freshness(conn: Any, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every period that has events (quarters, months, weeks; newest first) with its event
    count, last ingestion, whether it has ended, and how its stored indicators compare
    (``autoscope status`` and ``report --list-periods``)."""
    from autoscope.pipelines.periods import DEFAULT_ORDER, is_complete, period_sql
    from autoscope.warehouse.columns import TABLE_BY_TYPE

    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    union = " UNION ALL ".join(f"SELECT event_id, occurred_at FROM {t}" for t in TABLE_BY_TYPE.values())
    has_stored = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'indicator_periods'"
    ).fetchall()[0][0]
    stored = (
        "(SELECT period_type, period, ingested_through, computed_at FROM indicator_periods)"
        if has_stored
        else "(SELECT NULL::VARCHAR AS period_type, NULL::VARCHAR AS period, NULL::TIMESTAMP AS "
        "ingested_through, NULL::TIMESTAMP AS computed_at WHERE false)"
    )
    out = []
    for period_type in DEFAULT_ORDER:
        rows = conn.execute(
            f"""
            SELECT e.period, count(*), max(i.ingested_at), any_value(s.computed_at),
                   count(*) FILTER (WHERE s.ingested_through IS NULL OR i.ingested_at > s.ingested_through)
            FROM (SELECT event_id, {period_sql(period_type)} AS period FROM ({union})) e
            JOIN event_ids i USING (event_id)
            LEFT JOIN {stored} s ON s.period_type = ? AND s.period = e.period
            GROUP BY e.period ORDER BY e.period DESC""",
            [period_type],
        ).fetchall()
        for period, events, last_ingested, computed, newer in rows:
            if computed is None:
                state, newer = "not computed", None
            else:
                state = "current" if newer == 0 else f"stale: {newer:,} newer events"
            out.append(
                {
                    "period_type": period_type,
                    "period": period,
                    "complete": is_complete(period, now),
                    "events": int(events),
                    "last_ingested": _iso_or_none(last_ingested),
                    "computed_at": _iso_or_none(computed),
                    "events_since_computed": newer,
                    "indicators": state,
                }
            )
    return out


def _iso_or_none(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")
