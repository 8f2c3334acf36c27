"""R&D spend distribution (docs/indicators.md), over the cell's spend events:

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

from autoscope.pipelines.indicators.cells import Facts, Scope, actors_of, cells, facts_for

NAME = "spend"
CUTS = ("team",)
SPEND_CATEGORIES = ("ai_tools", "compute", "data", "staff", "other")
#: over the fine spend rows and the active researchers' fine rows of tasks, experiments and
#: contributions (whose spend columns are NULL)
METRICS = {
    **{f"share_{c}": f"coalesce(sum(amount_{c}), 0) / nullif(sum(amount), 0)" for c in SPEND_CATEGORIES},
    "ai_tool_spend_per_active_researcher": f"coalesce(sum(amount_ai_tools), 0) / nullif({actors_of('active')}, 0)",
}
_AMOUNTS = ("n", "amount", *(f"amount_{c}" for c in SPEND_CATEGORIES))


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        return cells(
            facts,
            indicator=NAME,
            scope=scope,
            source_sql=source_sql(facts),
            metrics=METRICS,
            cuts=CUTS,
            n_events_sql=N_EVENTS,
            n_actors_sql=N_ACTORS,
        )


def source_sql(facts: Facts) -> str:
    """The fine spend rows and the active researchers' fine rows of tasks, experiments and
    contributions (shared with the capital share, so that both decide the same cells)."""
    none = ", ".join(f"NULL AS {c}" for c in _AMOUNTS)
    others = " ".join(
        f"UNION ALL SELECT ts, team, {none}, NULL AS spenders, actors AS active FROM {facts.table(t)}"
        for t in ("fx_tasks", "fx_experiments", "fx_contributions")
    )
    return f"""SELECT ts, team, {", ".join(_AMOUNTS)}, actors AS spenders, actors AS active
                  FROM {facts.table("fx_spend")} {others}"""


N_EVENTS = "coalesce(sum(n), 0)"
#: the spenders; where nobody reported spend, the active researchers the zero describes
N_ACTORS = f"coalesce(nullif({actors_of('spenders')}, 0), {actors_of('active')})"
