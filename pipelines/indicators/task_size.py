"""Delegated task size (DESIGN.md): how big the work handed to AI is, in human minutes.

Over the cell's AI task events (executor ``ai``, every outcome: the size of what was delegated,
not of what succeeded):

* ``median_minutes``, ``p90_minutes``: quantiles of human_minutes, linearly interpolated
  between order statistics (``quantile_cont``; numpy's default ``percentile``);
* ``share_over_1h``, ``share_over_8h``, ``share_over_40h``: share with human_minutes strictly
  greater than 60, 480 and 2,400.

Cuts: team, rung, category. Contributing actors (for k): the distinct actors of those tasks.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Scope, cells

NAME = "task_size"
CUTS = ("team", "rung", "category")
METRICS = {
    "median_minutes": "quantile_cont(human_minutes, 0.5)",
    "p90_minutes": "quantile_cont(human_minutes, 0.9)",
    "share_over_1h": "avg(CASE WHEN human_minutes > 60 THEN 1 ELSE 0 END)",
    "share_over_8h": "avg(CASE WHEN human_minutes > 480 THEN 1 ELSE 0 END)",
    "share_over_40h": "avg(CASE WHEN human_minutes > 2400 THEN 1 ELSE 0 END)",
}


def compute(conn: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    source = "SELECT occurred_at AS ts, actor, team, rung, category, human_minutes FROM tasks WHERE executor = 'ai'"
    return cells(conn, indicator=NAME, scope=scope, source_sql=source, metrics=METRICS, cuts=CUTS)
