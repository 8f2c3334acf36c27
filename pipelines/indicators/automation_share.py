"""Automation share (DESIGN.md): the AI, mixed and human shares of tasks, and time-weighted.

* ``ai_share``, ``mixed_share``, ``human_share``: shares of all task events in the cell.
* ``time_weighted_ai_share`` = Σ human_minutes of *successful AI* tasks (executor ``ai``;
  mixed work is not counted as AI's) / Σ human_minutes of all *completed* tasks (outcome
  success or failure; abandoned tasks were not completed).

Cuts: team, rung, category. Contributing actors (for k): the distinct actors of the cell's tasks.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Scope, cells

NAME = "automation_share"
CUTS = ("team", "rung", "category")
METRICS = {
    "ai_share": "avg(CASE WHEN executor = 'ai' THEN 1 ELSE 0 END)",
    "mixed_share": "avg(CASE WHEN executor = 'mixed' THEN 1 ELSE 0 END)",
    "human_share": "avg(CASE WHEN executor = 'human' THEN 1 ELSE 0 END)",
    "time_weighted_ai_share": (
        "coalesce(sum(human_minutes) FILTER (WHERE executor = 'ai' AND outcome = 'success'), 0)"
        " / nullif(sum(human_minutes) FILTER (WHERE outcome IN ('success', 'failure')), 0)"
    ),
}


def compute(conn: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    source = "SELECT occurred_at AS ts, actor, team, rung, category, executor, outcome, human_minutes FROM tasks"
    return cells(conn, indicator=NAME, scope=scope, source_sql=source, metrics=METRICS, cuts=CUTS)
