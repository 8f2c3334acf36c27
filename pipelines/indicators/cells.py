"""Aggregate a source relation into indicator cells for every period type and cut in ONE query.

A *cell* is one (period type, period, cut, cut value). The source is scanned once per
indicator: every period type's label is computed per row and the lab-wide cut and each
per-column cut of each period type are grouping sets of the same GROUP BY, and the result comes
back long: one row per metric.

:class:`Scope` says which period types and (for incremental runs) which periods to compute: a
row whose period is not wanted gets a NULL label for that period type, so a month that is not
being recomputed never receives a partial aggregate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import duckdb
import polars as pl

from autoscope.pipelines.periods import PERIOD_TYPES, bounds, period_sql

CELL_COLUMNS = ["indicator", "metric", "period_type", "period", "cut", "cut_value", "value", "n_events", "n_actors"]
CELL_SCHEMA = {c: pl.Float64 if c == "value" else (pl.Int64 if c.startswith("n_") else pl.Utf8) for c in CELL_COLUMNS}


@dataclasses.dataclass(frozen=True)
class Scope:
    """Which periods a run computes: every period of ``period_types`` (``dirty`` None), or only
    the listed periods per type."""

    period_types: tuple[str, ...] = PERIOD_TYPES
    dirty: Mapping[str, tuple[str, ...]] | None = None

    def wanted(self, period_type: str) -> tuple[str, ...] | None:
        return None if self.dirty is None else tuple(self.dirty.get(period_type, ()))

    def label_sql(self, period_type: str, column: str, truncated: bool = False) -> str:
        """The period label, NULL for a period this run does not compute; ``truncated``: the
        period's first instant as a TIMESTAMP (cheaper to group by than a string)."""
        expr = f"date_trunc('{period_type}', {column})" if truncated else period_sql(period_type, column)
        wanted = self.wanted(period_type)
        if wanted is None:
            return expr
        if not wanted:
            return "CAST(NULL AS TIMESTAMP)" if truncated else "CAST(NULL AS VARCHAR)"
        if truncated:
            listed = ", ".join(f"TIMESTAMP '{bounds(period_type, p)[0].isoformat(sep=' ')}'" for p in wanted)
        else:
            listed = ", ".join(f"'{p}'" for p in wanted)
        return f"CASE WHEN {expr} IN ({listed}) THEN {expr} END"

    def since_sql(self, column: str) -> str:
        """A cheap lower bound on ``column`` (prunes the scan), TRUE when everything is wanted."""
        if self.dirty is None:
            return "TRUE"
        starts = [bounds(pt, p)[0] for pt in self.period_types for p in self.wanted(pt) or ()]
        if not starts:
            return "FALSE"
        return f"{column} >= TIMESTAMP '{min(starts).isoformat(sep=' ')}'"

    def is_empty(self) -> bool:
        return self.dirty is not None and not any(self.wanted(pt) for pt in self.period_types)


def labelled(scope: Scope, source_sql: str, time_col: str = "ts", truncated: bool = False) -> str:
    """``source_sql`` with one label column ``p_<type>`` per period type, pruned to the scope."""
    labels = ", ".join(f"{scope.label_sql(pt, time_col, truncated)} AS p_{pt}" for pt in scope.period_types)
    return f"SELECT *, {labels} FROM ({source_sql}) AS s WHERE {scope.since_sql(time_col)}"


def cells(
    conn: duckdb.DuckDBPyConnection,
    *,
    indicator: str,
    scope: Scope,
    source_sql: str,
    metrics: Mapping[str, str],
    cuts: Sequence[str] = ("team",),
    n_events_sql: str = "count(*)",
    n_actors_sql: str = "count(DISTINCT hash(actor))",
    time_col: str = "ts",
) -> pl.DataFrame:
    """Run the grouped query and return long-format cells (before anonymization).

    Parameters:
        source_sql: a SELECT yielding ``time_col`` (the TIMESTAMP that places a row in its
            periods), ``actor``, the cut columns and whatever the metric expressions use.
        metrics: metric name → aggregate SQL expression.
        cuts: columns to cut by besides the lab-wide total.
        n_events_sql, n_actors_sql: the sample-size aggregates (what counts as an event and
            as a contributing actor of this indicator). Actors are counted by their 64-bit
            hash, which is much cheaper than comparing pseudonyms; a collision could only
            merge two actors, i.e. undercount, which errs towards suppressing.
    """
    if scope.is_empty():
        return pl.DataFrame(schema=CELL_SCHEMA)
    sets, type_case, period_coalesce = [], [], []
    for pt in scope.period_types:
        sets += [f"(p_{pt})", *(f"(p_{pt}, {c})" for c in cuts)]
        type_case.append(f"WHEN GROUPING(p_{pt}) = 0 THEN '{pt}'")
        period_coalesce.append(f"p_{pt}")
    cut_name = "CASE " + " ".join(f"WHEN GROUPING({c}) = 0 THEN '{c}'" for c in cuts) + " ELSE 'lab' END" if cuts else "'lab'"
    cut_value = f"CAST(COALESCE({', '.join(cuts)}, 'all') AS VARCHAR)" if cuts else "'all'"
    metric_sql = ", ".join(f"CAST({expr} AS DOUBLE) AS \"{name}\"" for name, expr in metrics.items())
    any_label = " OR ".join(f"p_{pt} IS NOT NULL" for pt in scope.period_types)
    query = f"""
        SELECT CASE {' '.join(type_case)} END AS period_type,
               CASE {' '.join(f"WHEN GROUPING(p_{pt}) = 0 THEN {period_sql(pt, f'p_{pt}')}" for pt in scope.period_types)} END AS period,
               {cut_name} AS cut, {cut_value} AS cut_value,
               {n_events_sql} AS n_events, {n_actors_sql} AS n_actors, {metric_sql}
        FROM ({labelled(scope, source_sql, time_col, truncated=True)}) AS source
        WHERE {any_label}
        GROUP BY GROUPING SETS ({', '.join(sets)})
        HAVING COALESCE({', '.join(period_coalesce)}) IS NOT NULL
    """
    return run_long(conn, query, indicator, list(metrics))


def run_long(conn: duckdb.DuckDBPyConnection, query: str, indicator: str, metrics: list[str]) -> pl.DataFrame:
    """Run a query yielding period_type, period, cut, cut_value, n_events, n_actors and one
    column per metric; return it long (one row per metric)."""
    cursor = conn.cursor()
    try:
        wide = pl.from_arrow(cursor.sql(query).to_arrow_table())
    finally:
        cursor.close()
    if wide.is_empty():
        return pl.DataFrame(schema=CELL_SCHEMA)
    long = wide.unpivot(
        index=["period_type", "period", "cut", "cut_value", "n_events", "n_actors"],
        on=metrics, variable_name="metric", value_name="value",
    )
    return long.with_columns(
        indicator=pl.lit(indicator), value=pl.col("value").cast(pl.Float64),
        n_events=pl.col("n_events").cast(pl.Int64), n_actors=pl.col("n_actors").cast(pl.Int64),
    ).select(CELL_COLUMNS)
