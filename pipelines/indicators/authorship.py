"""AI first authorship (docs/indicators.md), over the cell's contribution events:

* ``ai_first_author_share``: share whose first_author is ``ai``;
* ``mean_ai_share``: mean of ai_share (0..1);
* ``automation_contributions``: how many contributions automation (CI, dependency and release
  bots) made. Automation is neither a person nor AI: it is left out of both shares, of
  ``n_events`` and of the actors counted for k (issue 13);
* ``merged_line_share_ai``: of the lines added by commits that reached the default branch
  (automation left out), the share in AI-authored or AI-co-authored commits;
  ``merged_line_share_ai_authored`` the share in AI-authored ones only. NULL where no
  contribution says its lines (events before git reported them, or not from git).

Git is the source of truth for merged lines. Coding agents' own telemetry (lines an agent
edited in a session) measures agent activity, much of which never reaches a commit; the two
are never added together (docs/semantic-conventions.md, "Lines").

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
    "merged_line_share_ai": "(coalesce(sum(merged_lines_ai_authored), 0)"
    " + coalesce(sum(merged_lines_ai_coauthored), 0))"
    " / nullif(sum(merged_lines), 0)",
    "merged_line_share_ai_authored": "coalesce(sum(merged_lines_ai_authored), 0) / nullif(sum(merged_lines), 0)",
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
