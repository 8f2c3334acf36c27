"""AI-vs-human experiment compute (DESIGN.md): shares of accelerator-hours by designer.

* ``ai_designed_share``: hours of experiments designed by AI / all experiment hours;
* ``ai_or_mixed_designed_share``: the same with mixed (AI and human) designs included.

Contributing actors (for k): the distinct actors who ran the cell's experiments.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import cells
from autoscope.pipelines.periods import period_sql

NAME = "experiment_compute"
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


def compute(conn: duckdb.DuckDBPyConnection, period_type: str) -> pl.DataFrame:
    source = f"""SELECT {period_sql(period_type)} AS period, actor, team, designed_by, accelerator_hours
                 FROM experiments"""
    return cells(conn, indicator=NAME, period_type=period_type, source_sql=source, metrics=METRICS)
