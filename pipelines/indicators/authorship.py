"""AI first authorship (DESIGN.md), over the cell's contribution events:

* ``ai_first_author_share``: share whose first_author is ``ai``;
* ``mean_ai_share``: mean of ai_share (0..1).

Cuts: team. Contributing actors (for k): the distinct actors who made the contributions.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Facts, Scope, actors_of, cells, facts_for

NAME = "authorship"
CUTS = ("team",)
#: over the fine contribution rows (:data:`~autoscope.pipelines.indicators.cells.FINE`)
METRICS = {
    "ai_first_author_share": "sum(n_ai_first) / sum(n)",
    "mean_ai_share": "sum(ai_share_sum) / sum(n)",
}


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        return cells(facts, indicator=NAME, scope=scope, source_sql=f"SELECT * FROM {facts.table('fx_contributions')}",
                     metrics=METRICS, cuts=CUTS, n_events_sql="sum(n)", n_actors_sql=actors_of())
