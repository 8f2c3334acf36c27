"""Automation share (docs/indicators.md): the AI, mixed and human shares of tasks, and time-weighted.

* ``ai_share``, ``mixed_share``, ``human_share``: shares of the cell's task events whose
  executor is known. A task sent without one (executor ``unknown``) is left out of every
  share, numerator and denominator: counting it as anyone's would bias the headline figure.
* ``time_weighted_ai_share`` = Σ human_minutes of *successful AI* tasks (executor ``ai``;
  mixed work is not counted as AI's) / Σ human_minutes of all *completed* tasks of a known
  executor (outcome success or failure; abandoned tasks were not completed).
* ``unknown_share``: the share of the cell's task events left out for an unknown executor.
* ``measured_share``: the share of the known-executor tasks whose size (human_minutes) was
  stated for the task (``size_source`` measured or estimated, or not said) rather than filled
  in from a configured default: how much of the time weighting rests on real sizes.

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
    "ai_share": "sum(n_ai) / nullif(sum(n_known), 0)",
    "mixed_share": "sum(n_mixed) / nullif(sum(n_known), 0)",
    "human_share": "sum(n_human) / nullif(sum(n_known), 0)",
    "time_weighted_ai_share": "coalesce(sum(minutes_ai_success), 0) / nullif(sum(minutes_completed), 0)",
    "unknown_share": "sum(n_unknown) / sum(n)",
    "measured_share": "1 - sum(n_known_default_size) / nullif(sum(n_known), 0)",
}


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        return cells(
            facts,
            indicator=NAME,
            scope=scope,
            source_sql=f"SELECT * FROM {facts.table('fx_tasks')}",
            metrics=METRICS,
            cuts=CUTS,
            n_events_sql="sum(n)",
            n_actors_sql=actors_of(),
        )
