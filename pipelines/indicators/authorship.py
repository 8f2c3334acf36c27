"""AI first authorship (docs/indicators.md), over the cell's contribution events:

* ``ai_first_author_share``: share whose first_author is ``ai``;
* ``mean_ai_share``: mean of ai_share (0..1);
* ``automation_contributions``: how many contributions automation (CI, dependency and release
  bots) made. Automation is neither a person nor AI: it is left out of both shares, of
  ``n_events`` and of the actors counted for k (issue 13).

The share of merged *lines* written with AI (``merged_line_share_ai`` and
``merged_line_share_ai_authored`` here before issue 16) is the merged-code indicator's
(:mod:`~autoscope.pipelines.indicators.merged_code`), released there only.

Cuts: team. Contributing actors (for k): the distinct people and AI agents who made the
contributions.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Facts, Scope, actors_of, cells, facts_for

NAME = "authorship"
CUTS = ("team",)
#: over the fine contribution rows (:data:`~autoscope.pipelines.indicators.cells.FINE`)
METRICS = {
    "ai_first_author_share": "sum(n_ai_first) / nullif(sum(n), 0)",
    "mean_ai_share": "sum(ai_share_sum) / nullif(sum(n), 0)",
    "automation_contributions": "coalesce(sum(n_automation), 0)",
}


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        return cells(
            facts,
            indicator=NAME,
            scope=scope,
            source_sql=f"SELECT * FROM {facts.table('fx_contributions')}",
            metrics=METRICS,
            cuts=CUTS,
            n_events_sql="sum(n)",
            n_actors_sql=actors_of(),
        )
