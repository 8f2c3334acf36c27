"""k-anonymity threshold with complementary suppression across every cut and period released
together.

Primary suppression: a cell (:data:`CELL_KEY`) is released only when at least k distinct actors
contribute. Suppressed cells keep their row (``suppressed = true``) with value, n_events,
n_actors and interval blanked: the reader sees that the cell exists and is suppressed, and
learns nothing else. k can be raised (``AUTOSCOPE_K`` or ``--k``) but never lowered below
:data:`MIN_K`.

Complementary suppression. A released *total* and its released *parts* let a reader difference
out the suppressed parts: n_events exactly, and through ratio × n_events every numerator of a
ratio metric too. The totals and parts released together are:

* every cut (team, rung, category, question) of a period partitions the lab-wide cell of that
  period (each event has exactly one team, one rung, …);
* the months of a quarter partition the quarter (same indicator, cut and cut value), and the
  ISO weeks whose Thursday falls in a month are treated as partitioning that month (a week
  straddling a month end does not, but when no events fall on the straddling days — weekends —
  it does exactly, so it is protected as if it did).

Rule, applied to every such group until nothing changes: when the total is released and some
parts are suppressed, what a reader can difference out is the combination of the suppressed
parts; it must rest on at least k actors. The test used — some suppressed part alone has at
least k actors — is conservative (the combination has at least as many actors as any of its
parts). If no suppressed part passes it, the released part with the fewest actors (ties: fewer
events, then name) is suppressed too; if no released part is left, the total is suppressed.
Each step only adds suppressions, so the loop ends; a new suppression may unbalance another
group (the same team in the quarter, say), which the next pass handles.
"""

from __future__ import annotations

import os

import polars as pl

from autoscope.pipelines.periods import parent

MIN_K = 5
K_ENV = "AUTOSCOPE_K"

#: one cell = these columns; its metrics share actors, events and suppression
CELL_KEY = ["indicator", "period_type", "period", "cut", "cut_value"]
BLANKED = ("value", "n_events", "n_actors", "ci_low", "ci_high", "noise_scale")


def resolve_k(k: int | None = None) -> int:
    """The k in force: the argument, else ``$AUTOSCOPE_K``, else 5; below 5 is refused."""
    chosen = k if k is not None else int(os.environ.get(K_ENV, MIN_K))
    if chosen < MIN_K:
        raise ValueError(f"k must be at least {MIN_K} (got {chosen}); it can only be raised")
    return chosen


def partitions(per_cell: pl.DataFrame) -> pl.DataFrame:
    """part cell key → group id and total cell key (prefixed ``t_``), for every total/parts
    group among ``per_cell``."""
    cut_groups = per_cell.filter(pl.col("cut") != "lab").with_columns(
        group=pl.concat_str([pl.lit("cut"), "indicator", "period_type", "period", "cut"], separator="|"),
        t_period_type=pl.col("period_type"), t_period=pl.col("period"),
        t_cut=pl.lit("lab"), t_cut_value=pl.lit("all"),
    )
    labels = per_cell.select(["period_type", "period"]).unique()
    parents = [(pt, p, *(parent(pt, p) or (None, None))) for pt, p in labels.iter_rows()]
    parent_map = pl.DataFrame(parents, schema={"period_type": pl.Utf8, "period": pl.Utf8,
                                               "t_period_type": pl.Utf8, "t_period": pl.Utf8}, orient="row")
    time_groups = (
        per_cell.join(parent_map, on=["period_type", "period"], how="left")
        .filter(pl.col("t_period").is_not_null())
        .with_columns(
            group=pl.concat_str([pl.lit("time"), "indicator", "cut", "cut_value", "t_period_type", "t_period"], separator="|"),
            t_cut=pl.col("cut"), t_cut_value=pl.col("cut_value"),
        )
    )
    cols = [*CELL_KEY, "group", "t_period_type", "t_period", "t_cut", "t_cut_value"]
    return pl.concat([cut_groups.select(cols), time_groups.select(cols)], how="vertical")


def suppression(cells: pl.DataFrame, k: int) -> pl.DataFrame:
    """One row per cell (:data:`CELL_KEY`) with ``suppressed`` (primary or complementary) and
    ``complementary``; ``cells`` holds the *true* n_actors and n_events (long or not)."""
    per_cell = (
        cells.select([*CELL_KEY, "n_actors", "n_events"]).unique(subset=CELL_KEY, keep="first")
        .with_columns(n_actors=pl.col("n_actors").fill_null(0), n_events=pl.col("n_events").fill_null(0))
    )
    primary = per_cell.with_columns(suppressed=pl.col("n_actors") < k)
    links = partitions(per_cell)
    total_key = ["indicator", "t_period_type", "t_period", "t_cut", "t_cut_value"]
    state = primary
    for _ in range(100):
        status = state.select([*CELL_KEY, "suppressed", "n_actors", "n_events"])
        parts = links.join(status, on=CELL_KEY, how="inner").join(
            status.select([pl.col(c).alias(f"t_{c}") if c != "indicator" else pl.col(c) for c in CELL_KEY]
                          + [pl.col("suppressed").alias("t_suppressed")]),
            on=total_key, how="inner",
        )
        groups = parts.group_by("group").agg(
            t_released=~pl.col("t_suppressed").first(),
            any_suppressed=pl.col("suppressed").any(),
            safe=(pl.col("n_actors").filter(pl.col("suppressed")) >= k).any(),
        ).filter(pl.col("t_released") & pl.col("any_suppressed") & ~pl.col("safe"))
        if groups.is_empty():
            break
        unbalanced = parts.join(groups.select("group"), on="group", how="semi")
        add = (
            unbalanced.filter(~pl.col("suppressed"))
            .sort(["n_actors", "n_events", "period", "cut_value"])
            .unique(subset=["group"], keep="first", maintain_order=True)
            .select(CELL_KEY)
        )
        no_part_left = groups.join(unbalanced.filter(~pl.col("suppressed")).select("group").unique(), on="group", how="anti")
        totals = (
            unbalanced.join(no_part_left.select("group"), on="group", how="semi")
            .select([pl.col("indicator")] + [pl.col(f"t_{c}").alias(c) for c in CELL_KEY[1:]]).unique()
        )
        newly = pl.concat([add, totals], how="vertical").unique().with_columns(hit=pl.lit(True))
        state = state.join(newly, on=CELL_KEY, how="left").with_columns(
            suppressed=pl.col("suppressed") | pl.col("hit").fill_null(False)).drop("hit")
    return state.with_columns(complementary=pl.col("suppressed") & (pl.col("n_actors") >= k)).select(
        [*CELL_KEY, "suppressed", "complementary"])


def apply_k_threshold(cells: pl.DataFrame, k: int) -> pl.DataFrame:
    """Mark suppressed cells (see :func:`suppression`) and blank what they show."""
    flagged = cells.join(suppression(cells, k), on=CELL_KEY, how="left", maintain_order="left")
    suppressed = pl.col("suppressed")
    blank = [pl.when(suppressed).then(None).otherwise(pl.col(c)).alias(c) for c in BLANKED if c in cells.columns]
    out = flagged.with_columns(blank)
    if "note" in out.columns:
        out = out.with_columns(note=pl.when(pl.col("complementary")).then(pl.lit("suppressed"))
                               .when(suppressed).then(pl.lit("suppressed"))
                               .otherwise(pl.col("note")))
    return out.drop("complementary")
