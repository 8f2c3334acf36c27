"""AI-vs-human experiment compute (docs/indicators.md): shares of accelerator-hours by designer.

* ``ai_designed_share``: hours of experiments designed by AI / all experiment hours;
* ``ai_or_mixed_designed_share``: the same with mixed (AI and human) designs included.

Contributing actors (for k): the distinct actors who ran the cell's experiments.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Facts, Scope, actors_of, cells, facts_for

NAME = "experiment_compute"
CUTS = ("team",)  # experiments have no rung or activity category
#: over the fine experiment rows (:data:`~autoscope.pipelines.indicators.cells.FINE`)
METRICS = {
    "ai_designed_share": "coalesce(sum(hours_ai), 0) / nullif(sum(hours), 0)",
    "ai_or_mixed_designed_share": "coalesce(sum(hours_ai_or_mixed), 0) / nullif(sum(hours), 0)",
}


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        return cells(
            facts,
            indicator=NAME,
            scope=scope,
            source_sql=f"SELECT * FROM {facts.table('fx_experiments')}",
            metrics=METRICS,
            cuts=CUTS,
            n_events_sql="sum(n)",
            n_actors_sql=actors_of(),
        )
