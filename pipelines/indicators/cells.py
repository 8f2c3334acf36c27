"""Aggregate a source relation into indicator cells for every cut in one grouped query.

A *cell* is one (period, cut, cut value). The lab-wide cut and each per-column cut are
computed together with GROUPING SETS, so the data is scanned once per indicator and period
type, and the result comes back long: one row per metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import polars as pl

CELL_COLUMNS = ["indicator", "metric", "period_type", "period", "cut", "cut_value", "value", "n_events", "n_actors"]


def cells(
    conn: duckdb.DuckDBPyConnection,
    *,
    indicator: str,
    period_type: str,
    source_sql: str,
    metrics: Mapping[str, str],
    cuts: Sequence[str] = ("team",),
    n_events_sql: str = "count(*)",
    n_actors_sql: str = "count(DISTINCT actor)",
) -> pl.DataFrame:
    """Run the grouped query and return long-format cells (before anonymization).

    Parameters:
        source_sql: a SELECT yielding ``period``, ``actor``, the cut columns and whatever the
            metric expressions use.
        metrics: metric name → aggregate SQL expression.
        cuts: columns to cut by besides the lab-wide total.
        n_events_sql, n_actors_sql: the sample-size aggregates (what counts as an event and
            as a contributing actor of this indicator).
    """
    grouping_sets = ", ".join(["(period)", *(f"(period, {c})" for c in cuts)])
    cut_name = "CASE " + " ".join(f"WHEN GROUPING({c}) = 0 THEN '{c}'" for c in cuts) + " ELSE 'lab' END"
    cut_value = f"CAST(COALESCE({', '.join(cuts)}, 'all') AS VARCHAR)" if cuts else "'all'"
    metric_sql = ", ".join(f"CAST({expr} AS DOUBLE) AS \"{name}\"" for name, expr in metrics.items())
    query = f"""
        SELECT period, {cut_name} AS cut, {cut_value} AS cut_value,
               {n_events_sql} AS n_events, {n_actors_sql} AS n_actors, {metric_sql}
        FROM ({source_sql}) AS source
        GROUP BY GROUPING SETS ({grouping_sets})
    """
    cursor = conn.cursor()
    try:
        wide = pl.from_arrow(cursor.sql(query).to_arrow_table())
    finally:
        cursor.close()
    if wide.is_empty():
        return pl.DataFrame(schema={c: pl.Float64 if c == "value" else (pl.Int64 if c.startswith("n_") else pl.Utf8) for c in CELL_COLUMNS})
    long = wide.unpivot(
        index=["period", "cut", "cut_value", "n_events", "n_actors"],
        on=list(metrics),
        variable_name="metric",
        value_name="value",
    )
    return long.with_columns(
        indicator=pl.lit(indicator), period_type=pl.lit(period_type),
        n_events=pl.col("n_events").cast(pl.Int64), n_actors=pl.col("n_actors").cast(pl.Int64),
    ).select(CELL_COLUMNS)
