"""Internal–public gap (docs/indicators.md): days from a model's internal deployment to its public release.

A model is one model_id; when several deployment events name it, the latest (by occurred_at)
describes it. It belongs to the period of its ``internal_at``. A model not yet public is an
*open gap*: it counts with the days from internal_at to the *as-of* time — the newest
``occurred_at`` in the warehouse (data time, so a rerun over the same data gives the same
number) — which is a lower bound of its real gap.

* ``models``, ``open_models``: models in the cell, those not yet public;
* ``mean_gap_days``, ``median_gap_days``, ``max_gap_days``: over all models, open gaps at
  their lower bound; when ``open_models`` > 0 the row's note says these are lower bounds;
* ``mean_gap_days_released``: over released models only.

Cut: lab (a deployment is the lab's, not a team's). Contributing actors (for k): the distinct
actors who reported the deployments. Small table: recomputed in full on every run.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Scope, cells

NAME = "release_gap"
CUTS: tuple[str, ...] = ()
ALWAYS_FULL = True
METRICS = {
    "models": "count(*)",
    "open_models": "count(*) FILTER (WHERE public_at IS NULL)",
    "mean_gap_days": "avg(gap_days)",
    "median_gap_days": "quantile_cont(gap_days, 0.5)",
    "max_gap_days": "max(gap_days)",
    "mean_gap_days_released": "avg(gap_days) FILTER (WHERE public_at IS NOT NULL)",
}


def compute(conn: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    source = """
        WITH as_of AS (
            SELECT max(t) AS t FROM (
                SELECT max(occurred_at) AS t FROM tasks UNION ALL SELECT max(occurred_at) FROM model_deployments
                UNION ALL SELECT max(occurred_at) FROM contributions UNION ALL SELECT max(occurred_at) FROM experiments)
        ), models AS (
            SELECT model_id, arg_max(internal_at, occurred_at) AS internal_at,
                   arg_max(public_at, occurred_at) AS public_at, arg_max(actor, occurred_at) AS actor,
                   arg_max(team, occurred_at) AS team
            FROM model_deployments GROUP BY model_id
        )
        SELECT internal_at AS ts, actor, team, public_at,
               date_diff('second', internal_at, coalesce(public_at, greatest(as_of.t, internal_at)))
                   / 86400.0 AS gap_days
        FROM models, as_of"""
    out = cells(conn, indicator=NAME, scope=scope, source_sql=source, metrics=METRICS, cuts=CUTS)
    open_models = out.filter(pl.col("metric") == "open_models").select(
        ["period_type", "period", "cut", "cut_value", pl.col("value").alias("open")]
    )
    return (
        out.join(open_models, on=["period_type", "period", "cut", "cut_value"], how="left")
        .with_columns(
            note=pl.when(
                pl.col("metric").is_in(["mean_gap_days", "median_gap_days", "max_gap_days"]) & (pl.col("open") > 0)
            )
            .then(pl.format("lower bound: {} model(s) not yet public", pl.col("open").cast(pl.Int64)))
            .otherwise(pl.lit(None, pl.Utf8))
        )
        .drop("open")
    )
