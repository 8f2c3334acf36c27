"""AI first authorship (DESIGN.md), over the cell's contribution events:

* ``ai_first_author_share``: share whose first_author is ``ai``;
* ``mean_ai_share``: mean of ai_share (0..1).

Cuts: team. Contributing actors (for k): the distinct actors who made the contributions.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Scope, cells

NAME = "authorship"
CUTS = ("team",)
METRICS = {
    "ai_first_author_share": "avg(CASE WHEN first_author = 'ai' THEN 1 ELSE 0 END)",
    "mean_ai_share": "avg(ai_share)",
}


def compute(conn: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    source = "SELECT occurred_at AS ts, actor, team, first_author, ai_share FROM contributions"
    return cells(conn, indicator=NAME, scope=scope, source_sql=source, metrics=METRICS, cuts=CUTS)
