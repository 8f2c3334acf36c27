"""Capital share of R&D spending (docs/indicators.md; GovAI, "Measuring AI R&D Automation",
2026): how much of what the lab spends on R&D buys capital — compute, AI tools, data — rather
than people's time, over the cell's spend events:

* ``capital_share``: (compute + ai_tools + data) / (compute + ai_tools + data + staff). Data
  (bought or generated data sets, synthetic-data pipelines) is a non-labour input, which GovAI's
  metric counts with the infrastructure; ``other`` is neither capital nor labour that we can
  tell and is left out of both. NULL where the cell has no staff cost: without the labour side
  the share would read 100 %, which says nothing;
* ``narrow_capital_share``: (compute + ai_tools) / (compute + ai_tools + staff), the
  narrower reading (accelerators and AI tools against people), NULL likewise;
* ``change_capital_share``: the capital share minus the previous period's (same type and cut),
  in share points — the trend; NULL when the previous cell is missing or suppressed. Computed
  after anonymization (:func:`add_change`).

Cut: team. The cells, their counts and their actors are spend's (:mod:`.spend`: the same source
rows, ``n_events`` the spend events, contributing actors the people who reported spend, else
the active researchers), so the two indicators are suppressed alike, and the capital share is a
function of spend's released category shares: it adds no count a reader could difference.

Staff cost must be reported per person (the spend's actor is the person whose cost it is) or
per team under each member's identity: a finance system that reports a team's or the lab's
staff cost under one identity is one actor for k, so every cell it reaches has too few people
unless others reported spend in it. We do not exempt an "organizational" actor from k: a
team's staff cost divided by its headcount is close to a person's pay in a small team.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators import period_change, spend
from autoscope.pipelines.indicators.cells import Facts, Scope, cells, facts_for

NAME = "capital_share"
CUTS = ("team",)
_CAPITAL = "coalesce(sum(amount_compute), 0) + coalesce(sum(amount_ai_tools), 0)"
_DATA = "coalesce(sum(amount_data), 0)"
_STAFF = "coalesce(sum(amount_staff), 0)"
#: over spend's source rows (:func:`autoscope.pipelines.indicators.spend.source_sql`)
METRICS = {
    "capital_share": f"CASE WHEN {_STAFF} > 0 THEN ({_CAPITAL} + {_DATA}) / ({_CAPITAL} + {_DATA} + {_STAFF}) END",
    "narrow_capital_share": f"CASE WHEN {_STAFF} > 0 THEN ({_CAPITAL}) / ({_CAPITAL} + {_STAFF}) END",
}


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        return cells(
            facts,
            indicator=NAME,
            scope=scope,
            source_sql=spend.source_sql(facts),
            metrics=METRICS,
            cuts=CUTS,
            n_events_sql=spend.N_EVENTS,
            n_actors_sql=spend.N_ACTORS,
        )


def add_change(released: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """``change_capital_share`` rows for the released capital shares (the trend)."""
    return period_change.add_changes(released, history, NAME, "^capital_share$", "change_capital_share")
