"""Impressions (docs/indicators.md): per survey question, the mean score and the share of scores ≥ 4.

* ``mean_score``, ``share_4_or_more`` (cut ``question``: one cell per question_id; the lab cell
  pools all answers and is the total that complementary suppression protects the questions
  against).

Contributing actors (for k): the distinct actors who answered.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Facts, Scope, actors_of, cells, facts_for

NAME = "impressions"
CUTS = ("question",)
#: over the fine impression rows (:data:`~autoscope.pipelines.indicators.cells.FINE`)
METRICS = {
    "mean_score": "sum(score_sum) / sum(n)",
    "share_4_or_more": "sum(n_4_or_more) / sum(n)",
}


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        return cells(
            facts,
            indicator=NAME,
            scope=scope,
            source_sql=f"SELECT * FROM {facts.table('fx_impressions')}",
            metrics=METRICS,
            cuts=CUTS,
            n_events_sql="sum(n)",
            n_actors_sql=actors_of(),
        )
