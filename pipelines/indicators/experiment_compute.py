"""AI-vs-human experiment compute (DESIGN.md): shares of accelerator-hours by designer.

* ``ai_designed_share``: hours of experiments designed by AI / all experiment hours;
* ``ai_or_mixed_designed_share``: the same with mixed (AI and human) designs included.

Contributing actors (for k): the distinct actors who ran the cell's experiments.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import Scope, cells

NAME = "experiment_compute"
CUTS = ("team",)  # experiments have no rung or activity category
METRICS = {
    "ai_designed_share": (
        "coalesce(sum(accelerator_hours) FILTER (WHERE designed_by = 'ai'), 0)"
        " / nullif(sum(accelerator_hours), 0)"
    ),
    "ai_or_mixed_designed_share": (
        "coalesce(sum(accelerator_hours) FILTER (WHERE designed_by IN ('ai', 'mixed')), 0)"
        " / nullif(sum(accelerator_hours), 0)"
    ),
}


def compute(conn: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    source = "SELECT occurred_at AS ts, actor, team, designed_by, accelerator_hours FROM experiments"
    return cells(conn, indicator=NAME, scope=scope, source_sql=source, metrics=METRICS, cuts=CUTS)
