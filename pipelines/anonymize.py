"""k-anonymity threshold: a cell is released only when at least k distinct actors contribute.

Cells below k keep their row (``suppressed = true``) with value, n_events and n_actors
blanked: the reader sees that the cell exists and is suppressed, and learns nothing else —
not even how few actors it had. k can be raised (``AUTOSCOPE_K`` or ``--k``) but never
lowered below :data:`MIN_K`.
"""

from __future__ import annotations

import os

import polars as pl

MIN_K = 5
K_ENV = "AUTOSCOPE_K"


def resolve_k(k: int | None = None) -> int:
    """The k in force: the argument, else ``$AUTOSCOPE_K``, else 5; below 5 is refused."""
    chosen = k if k is not None else int(os.environ.get(K_ENV, MIN_K))
    if chosen < MIN_K:
        raise ValueError(f"k must be at least {MIN_K} (got {chosen}); it can only be raised")
    return chosen


def apply_k_threshold(cells: pl.DataFrame, k: int) -> pl.DataFrame:
    """Mark cells with fewer than ``k`` distinct actors suppressed and blank what they show."""
    suppressed = pl.col("n_actors") < k
    return cells.with_columns(
        suppressed=suppressed,
        value=pl.when(suppressed).then(None).otherwise(pl.col("value")),
        n_events=pl.when(suppressed).then(None).otherwise(pl.col("n_events")),
        n_actors=pl.when(suppressed).then(None).otherwise(pl.col("n_actors")),
    )
