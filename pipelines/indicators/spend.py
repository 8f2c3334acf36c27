"""R&D spend distribution (DESIGN.md), over the cell's spend events:

* ``share_<category>`` for ai_tools, compute, data, staff, other: that category's amount_usd /
  all amount_usd of the cell;
* ``ai_tool_spend_per_active_researcher``: ai_tools amount_usd / active researchers, where an
  active researcher is a distinct actor with any task, experiment, contribution or spend event
  in the cell (the same period and team).

Cut: team. Contributing actors (for k): the distinct actors who reported spend in the cell —
the people the shares describe, not the (larger) set of active researchers, so that one spender
among many researchers does not have their spend released (where nobody reported spend, the
active researchers, whom the zero describes). ``n_events``: spend events.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Scope, cells

NAME = "spend"
CUTS = ("team",)
SPEND_CATEGORIES = ("ai_tools", "compute", "data", "staff", "other")
METRICS = {
    **{f"share_{c}": f"coalesce(sum(amount_usd) FILTER (WHERE category = '{c}'), 0) / nullif(sum(amount_usd), 0)"
       for c in SPEND_CATEGORIES},
    "ai_tool_spend_per_active_researcher": (
        "coalesce(sum(amount_usd) FILTER (WHERE category = 'ai_tools'), 0) / nullif(count(DISTINCT hash(actor)), 0)"
    ),
}


def compute(conn: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    source = """
        SELECT occurred_at AS ts, actor, team, category, amount_usd FROM spend
        UNION ALL SELECT occurred_at, actor, team, NULL, NULL FROM tasks
        UNION ALL SELECT occurred_at, actor, team, NULL, NULL FROM experiments
        UNION ALL SELECT occurred_at, actor, team, NULL, NULL FROM contributions"""
    return cells(conn, indicator=NAME, scope=scope, source_sql=source, metrics=METRICS, cuts=CUTS,
                 n_events_sql="count(amount_usd)",
                 n_actors_sql=N_ACTORS)


#: the spenders; where nobody reported spend, the active researchers the zero describes
N_ACTORS = """coalesce(nullif(count(DISTINCT hash(actor)) FILTER (WHERE amount_usd IS NOT NULL), 0),
                       count(DISTINCT hash(actor)))"""
