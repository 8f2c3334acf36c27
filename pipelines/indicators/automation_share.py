"""Automation share (docs/indicators.md): the AI, mixed and human shares of tasks, and time-weighted.

* ``ai_share``, ``mixed_share``, ``human_share``: shares of all task events in the cell.
* ``time_weighted_ai_share`` = Σ human_minutes of *successful AI* tasks (executor ``ai``;
  mixed work is not counted as AI's) / Σ human_minutes of all *completed* tasks (outcome
  success or failure; abandoned tasks were not completed).

Cuts: team, rung, category. Contributing actors (for k): the distinct actors of the cell's tasks.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Facts, Scope, actors_of, cells, facts_for

NAME = "automation_share"
CUTS = ("team", "rung", "category")
#: over the fine task rows (:data:`~autoscope.pipelines.indicators.cells.FINE`)
METRICS = {
    "ai_share": "sum(n_ai) / sum(n)",
    "mixed_share": "sum(n_mixed) / sum(n)",
    "human_share": "sum(n_human) / sum(n)",
    "time_weighted_ai_share": "coalesce(sum(minutes_ai_success), 0) / nullif(sum(minutes_completed), 0)",
}


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        return cells(facts, indicator=NAME, scope=scope, source_sql=f"SELECT * FROM {facts.table('fx_tasks')}",
                     metrics=METRICS, cuts=CUTS, n_events_sql="sum(n)", n_actors_sql=actors_of())
