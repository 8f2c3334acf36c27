"""A released share's change from the previous period of the same type, computed after
anonymization from released values only, so that a change never reveals a suppressed share.

Shared by the indicators that report a change (tasks involved: each category's share; capital
share: its trend). ``history`` holds earlier stored rows, where the previous period may come
from when an incremental run does not recompute it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from autoscope.pipelines.periods import bounds, label

_KEY = ["metric", "period_type", "period", "cut", "cut_value", "value", "suppressed"]


def previous(period_type: str, period: str) -> str:
    """The label of the period of ``period_type`` just before ``period``."""
    start, _ = bounds(period_type, period)
    return label(period_type, start - dt.timedelta(days=1))


def add_changes(
    released: pl.DataFrame, history: pl.DataFrame, indicator: str, pattern: str, replacement: str
) -> pl.DataFrame:
    """Rows of the change of every released metric of ``indicator`` matching the regex
    ``pattern`` (renamed by ``replacement``): this period's value minus the previous period's,
    NULL with a note when the previous cell is missing or suppressed."""

    def pick(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter((pl.col("indicator") == indicator) & pl.col("metric").str.contains(pattern))

    mine = pick(released)
    if mine.is_empty():
        return released.clear()
    pool = pl.concat([mine.select(_KEY), pick(history).select(_KEY)]).unique(
        subset=["metric", "period_type", "period", "cut", "cut_value"], keep="first"
    )
    prev_labels = pl.DataFrame(
        [(pt, p, previous(pt, p)) for pt, p in mine.select(["period_type", "period"]).unique().iter_rows()],
        schema={"period_type": pl.Utf8, "period": pl.Utf8, "prev": pl.Utf8},
        orient="row",
    )
    joined = mine.join(prev_labels, on=["period_type", "period"], how="left").join(
        pool.rename({"period": "prev", "value": "prev_value", "suppressed": "prev_suppressed"}),
        on=["metric", "period_type", "prev", "cut", "cut_value"],
        how="left",
    )
    ok = ~pl.col("suppressed") & pl.col("prev_suppressed").eq(False)
    return joined.with_columns(
        metric=pl.col("metric").str.replace(pattern, replacement),
        value=pl.when(ok).then(pl.col("value") - pl.col("prev_value")).otherwise(None),
        note=pl.when(pl.col("suppressed"))
        .then(pl.lit(None))
        .when(pl.col("prev_value").is_null() & pl.col("prev_suppressed").is_null())
        .then(pl.lit("no previous period"))
        .when(~ok)
        .then(pl.lit("previous period suppressed"))
        .otherwise(pl.lit(None)),
    ).select(released.columns)
