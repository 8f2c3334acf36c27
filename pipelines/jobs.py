"""The indicator job: compute every indicator, anonymize, store in ``indicator_values``.

``compute_indicators`` reads only; ``store_indicators`` replaces the stored rows of exactly
the (indicator, period type, period) combinations it is given, in one transaction, so a
rerun over the same data leaves the table identical (but for ``computed_at``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import polars as pl

from autoscope.pipelines.anonymize import apply_k_threshold, resolve_k
from autoscope.pipelines.indicators import automation_share, experiment_compute, review_frequency

INDICATORS = (automation_share, review_frequency, experiment_compute)
STORED_COLUMNS = [
    "indicator", "metric", "period_type", "period", "cut", "cut_value",
    "value", "n_events", "n_actors", "suppressed", "k", "computed_at",
]


def compute_indicators(
    conn: duckdb.DuckDBPyConnection, k: int | None = None, period_types: Sequence[str] = ("week",)
) -> pl.DataFrame:
    """Every indicator for every period type and cut, k-anonymized; nothing is written."""
    k = resolve_k(k)
    frames = [module.compute(conn, period_type) for period_type in period_types for module in INDICATORS]
    cells = pl.concat([f for f in frames if not f.is_empty()], how="vertical") if any(
        not f.is_empty() for f in frames
    ) else pl.DataFrame(schema=frames[0].schema)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return (
        apply_k_threshold(cells, k)
        .with_columns(k=pl.lit(k, dtype=pl.Int32), computed_at=pl.lit(now))
        .select(STORED_COLUMNS)
        .sort(["indicator", "period_type", "period", "cut", "cut_value", "metric"])
    )


def store_indicators(conn: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> int:
    """Replace the stored cells of the frame's (indicator, period type, period)s; returns rows."""
    cursor = conn.cursor()
    try:
        cursor.register("new_cells", frame.to_arrow())
        cursor.execute("BEGIN TRANSACTION")
        try:
            cursor.execute(
                """DELETE FROM indicator_values AS v USING
                   (SELECT DISTINCT indicator, period_type, period FROM new_cells) AS n
                   WHERE v.indicator = n.indicator AND v.period_type = n.period_type
                     AND v.period = n.period"""
            )
            cursor.execute(f"INSERT INTO indicator_values SELECT {', '.join(STORED_COLUMNS)} FROM new_cells")
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.unregister("new_cells")
    finally:
        cursor.close()
    return frame.height


def run_indicators(
    conn: duckdb.DuckDBPyConnection, k: int | None = None, period_types: Sequence[str] = ("week",)
) -> pl.DataFrame:
    """Compute, anonymize and store; returns what was stored."""
    frame = compute_indicators(conn, k, period_types)
    store_indicators(conn, frame)
    return frame
