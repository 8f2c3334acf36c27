"""Impressions (DESIGN.md): per survey question, the mean score and the share of scores ≥ 4.

* ``mean_score``, ``share_4_or_more`` (cut ``question``: one cell per question_id; the lab cell
  pools all answers and is the total that complementary suppression protects the questions
  against).

Contributing actors (for k): the distinct actors who answered.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Scope, cells

NAME = "impressions"
CUTS = ("question",)
METRICS = {
    "mean_score": "avg(score)",
    "share_4_or_more": "avg(CASE WHEN score >= 4 THEN 1 ELSE 0 END)",
}


def compute(conn: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    source = "SELECT occurred_at AS ts, actor, team, question_id AS question, score FROM impressions"
    return cells(conn, indicator=NAME, scope=scope, source_sql=source, metrics=METRICS, cuts=CUTS)
