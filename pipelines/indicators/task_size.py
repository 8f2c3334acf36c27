"""Delegated task size (docs/indicators.md): how big the work handed to AI is, in human minutes.

Over the cell's AI task events (executor ``ai``, every outcome: the size of what was delegated,
not of what succeeded):

* ``median_minutes``, ``p90_minutes``: quantiles of human_minutes, linearly interpolated
  between order statistics (``quantile_cont``; numpy's default ``percentile``);
* ``share_over_1h``, ``share_over_8h``, ``share_over_40h``: share with human_minutes strictly
  greater than 60, 480 and 2,400;
* ``measured_share``: the share of those tasks whose size was stated for the task rather than
  filled in from a configured default (``size_source`` other than ``default``): the quantiles
  of a cell whose sizes are mostly defaults describe the default, not the work.

Cuts: team, rung, category. Contributing actors (for k): the distinct actors of those tasks.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Facts, Scope, actors_of, cells, facts_for, to_long

NAME = "task_size"
CUTS = ("team", "rung", "category")
#: the quantiles, over the AI task events themselves (one list-valued quantile per cell)
QUANTILES = {"median_minutes": 0, "p90_minutes": 1}  # metric → its index in QUANTILE_SQL's list
QUANTILE_SQL = "quantile_cont(human_minutes, [0.5, 0.9])"
#: the shares, over the fine task rows that hold AI tasks
SHARES = {
    "share_over_1h": "sum(n_ai_over_1h) / sum(n_ai)",
    "share_over_8h": "sum(n_ai_over_8h) / sum(n_ai)",
    "share_over_40h": "sum(n_ai_over_40h) / sum(n_ai)",
    "measured_share": "1 - sum(n_ai_default_size) / sum(n_ai)",
}
METRICS = [*QUANTILES, *SHARES]
SOURCE = "SELECT occurred_at AS ts, actor, team, rung, category, human_minutes FROM tasks WHERE executor = 'ai'"


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        shares = cells(
            facts,
            indicator=NAME,
            scope=scope,
            metrics=SHARES,
            cuts=CUTS,
            wide=True,
            source_sql=f"SELECT * FROM {facts.table('fx_tasks')} WHERE n_ai > 0",
            n_events_sql="sum(n_ai)",
            n_actors_sql=actors_of("ai_actors"),
        )
        quantiles = cells(
            facts,
            indicator=NAME,
            scope=scope,
            source_sql=SOURCE,
            cuts=CUTS,
            wide=True,
            metrics={"q": QUANTILE_SQL},
            metric_type="DOUBLE[]",
            n_events_sql="0",
            n_actors_sql="0",
        )
    key = ["period_type", "period", "cut", "cut_value"]
    if not shares.is_empty():
        quantiles = quantiles.select(*key, *(pl.col("q").list.get(i).alias(m) for m, i in QUANTILES.items()))
        shares = shares.join(quantiles, on=key, how="left", nulls_equal=True)
    return to_long(shares, NAME, METRICS)
