"""Compute multiplier (docs/indicators.md): how much less compute a training run needs to reach a target
loss than its baseline run did, for the same recipe and target loss.

A milestone with a ``baseline_run_id`` is paired with that run's milestone of the same recipe
and target_loss (the baseline's latest event if it reported several); multiplier = baseline
compute_to_target / compute_to_target. A milestone whose baseline is missing or was reported
for another recipe or loss is not counted. Periods: the milestone's occurred_at.

* ``runs``: paired milestones in the cell;
* ``geomean_multiplier``: geometric mean of the multipliers (ratios average geometrically);
* ``max_multiplier``;
* ``trend_vs_previous``: geomean_multiplier / that of the previous period of the same type
  (NULL when that cell is missing or suppressed) — the trend.

Cut: lab. Contributing actors (for k): the distinct actors who reported the milestones.
Small table: recomputed in full on every run.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Scope, cells

NAME = "compute_multiplier"
CUTS: tuple[str, ...] = ()
ALWAYS_FULL = True
METRICS = {
    "runs": "count(*)",
    "geomean_multiplier": "exp(avg(ln(multiplier)))",
    "max_multiplier": "max(multiplier)",
}


def compute(conn: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    source = """
        WITH base AS (
            SELECT run_id, recipe, target_loss, arg_max(compute_to_target, occurred_at) AS compute
            FROM training_milestones GROUP BY run_id, recipe, target_loss
        )
        SELECT m.occurred_at AS ts, m.actor, m.team, b.compute / m.compute_to_target AS multiplier
        FROM training_milestones m JOIN base b
          ON b.run_id = m.baseline_run_id AND b.recipe = m.recipe AND b.target_loss = m.target_loss
        WHERE m.compute_to_target > 0 AND b.compute > 0"""
    return cells(conn, indicator=NAME, scope=scope, source_sql=source, metrics=METRICS, cuts=CUTS)


def add_trend(released: pl.DataFrame) -> pl.DataFrame:
    """``trend_vs_previous`` rows, from released geomeans only (this indicator is always full)."""
    from autoscope.pipelines.indicators.period_change import previous

    geo = released.filter((pl.col("indicator") == NAME) & (pl.col("metric") == "geomean_multiplier"))
    if geo.is_empty():
        return released.clear()
    prev = geo.with_columns(
        prev=pl.struct(["period_type", "period"]).map_elements(
            lambda s: previous(s["period_type"], s["period"]), return_dtype=pl.Utf8
        )
    )
    joined = prev.join(
        geo.select(
            [
                "period_type",
                pl.col("period").alias("prev"),
                "cut",
                "cut_value",
                pl.col("value").alias("prev_value"),
                pl.col("suppressed").alias("prev_suppressed"),
            ]
        ),
        on=["period_type", "prev", "cut", "cut_value"],
        how="left",
    )
    ok = ~pl.col("suppressed") & pl.col("prev_suppressed").eq(False)
    return joined.with_columns(
        metric=pl.lit("trend_vs_previous"),
        value=pl.when(ok).then(pl.col("value") / pl.col("prev_value")).otherwise(None),
        note=pl.when(pl.col("suppressed"))
        .then(pl.lit(None))
        .when(~ok)
        .then(pl.lit("no released previous period"))
        .otherwise(pl.lit(None)),
    ).select(released.columns)
