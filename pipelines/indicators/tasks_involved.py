"""Tasks involved (docs/indicators.md): how the cell's AI tasks spread over the six activity categories.

* ``share_<category>`` for each of the six categories: AI task events of that category / all
  AI task events of the cell (they sum to 1);
* ``change_<category>``: that share minus the same cell's share in the previous period of the
  same type, in share points; NULL when the previous cell is missing or suppressed (a change
  must not reveal a suppressed share). Computed after anonymization by :func:`add_changes`.

Cuts: team, rung (a category cut would be 100 % of itself). Contributing actors (for k): the
distinct actors of those AI tasks.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.core import contract
from autoscope.pipelines.indicators import period_change
from autoscope.pipelines.indicators.cells import Facts, Scope, actors_of, cells, facts_for

NAME = "tasks_involved"
CUTS = ("team", "rung")
CATEGORIES = contract.CATEGORIES
#: over the fine task rows that hold AI tasks
METRICS = {f"share_{c}": f"coalesce(sum(n_ai) FILTER (WHERE category = '{c}'), 0) / sum(n_ai)" for c in CATEGORIES}
#: the job recomputes the period after a changed one too (its change depends on it)
DEPENDS_ON_PREVIOUS = True


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        return cells(
            facts,
            indicator=NAME,
            scope=scope,
            metrics=METRICS,
            cuts=CUTS,
            source_sql=f"SELECT * FROM {facts.table('fx_tasks')} WHERE n_ai > 0",
            n_events_sql="sum(n_ai)",
            n_actors_sql=actors_of("ai_actors"),
        )


def add_changes(released: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """``change_<category>`` rows for the released ``share_`` rows of this indicator.

    ``history`` holds earlier stored rows (already anonymized) the previous periods may come from.
    """
    return period_change.add_changes(released, history, NAME, "^share_", "change_")
