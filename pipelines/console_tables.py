"""Indicator results as terminal tables (rich): the full tables and a one-screen summary."""

from __future__ import annotations

import polars as pl
from rich import box
from rich.console import Group
from rich.table import Table

#: a table without vertical rules or outer edges, one space between columns: the most columns in 80
COMPACT = {"box": box.SIMPLE_HEAD, "show_edge": False, "padding": (0, 1, 0, 0), "pad_edge": False}

# Titles are worded so that no word is longer than 10 characters: the headline table then fits
# 80 columns with every title whole (wrapped over lines at spaces, never cut with "…").
SUMMARY_COLUMNS = (
    ("automation_share", "ai_share", "AI share of tasks"),
    ("automation_share", "time_weighted_ai_share", "AI share, weighted by time"),
    ("review_frequency", "reviews_per_ai_task", "reviews per AI task"),
    ("review_frequency", "unreviewed_share", "AI tasks unreviewed"),
    ("review_frequency", "intervention_rate", "reviews that intervene"),
    ("experiment_compute", "ai_designed_share", "compute on AI designs"),
)


def cell_text(metric: str, value: float | None, suppressed: bool) -> str:
    """How a cell reads: 'suppressed' (never blank), a percentage for shares and rates."""
    if suppressed:
        return "suppressed"
    if value is None:
        return "–"
    return f"{value:.1%}" if metric.endswith(("_share", "_rate")) else f"{value:,.2f}"


def full_tables(frame: pl.DataFrame, period_type: str = "week") -> Group:
    """One table per indicator: rows are periods × cut values, columns actors and its metrics.

    A suppressed cell reads "suppressed" in every column, actors included (never blank, and
    never a count: a complementary-suppressed cell may have k actors or more). A value with an
    interval reads "v [lo–hi]"; a value that is not meaningful reads "–" and the table's caption
    lists why.
    """
    tables = []
    shown = frame.filter(pl.col("period_type") == period_type)
    for indicator in shown["indicator"].unique(maintain_order=True).to_list():
        rows = shown.filter(pl.col("indicator") == indicator)
        metrics = rows["metric"].unique(maintain_order=True).to_list()
        table = Table(title=f"{indicator} (per {period_type})", title_justify="left")
        for column in ("period", "cut", "actors", *metrics):
            table.add_column(column.replace("_", " "), justify="left" if column in ("period", "cut") else "right")
        has_ci = "ci_low" in rows.columns
        texts = rows.with_columns(
            text=pl.struct(["metric", "value", "suppressed", *(["ci_low", "ci_high"] if has_ci else [])]).map_elements(
                lambda r: _with_interval(r), return_dtype=pl.Utf8
            )
        )
        index = ["period", "cut", "cut_value", "suppressed"]
        actors = texts.group_by(index).agg(pl.col("n_actors").min())
        wide = texts.pivot(on="metric", index=index, values="text").join(actors, on=index, how="left")
        wide = wide.sort(["period", pl.col("cut") != "lab", "cut_value"])
        for row in wide.iter_rows(named=True):
            label = "lab (all teams)" if row["cut"] == "lab" else f"{row['cut']}: {row['cut_value']}"
            count = "suppressed" if row["suppressed"] else str(row["n_actors"])
            table.add_row(row["period"], label, count, *((row.get(m) or "–") for m in metrics))
        if "note" in rows.columns:
            notes = rows.filter(~pl.col("suppressed") & pl.col("note").is_not_null() & pl.col("value").is_null())
            reasons = sorted(set(notes["note"].to_list()))
            if reasons:
                table.caption = "– " + "; ".join(reasons[:4])
                table.caption_justify = "left"
        tables.append(table)
    return Group(*tables)


def _with_interval(r: dict) -> str:
    text = cell_text(r["metric"], r["value"], r["suppressed"])
    if r.get("ci_low") is not None or r.get("ci_high") is not None:
        lo = "?" if r.get("ci_low") is None else f"{r['ci_low']:,.1f}"
        hi = "∞" if r.get("ci_high") is None else f"{r['ci_high']:,.1f}"
        text += f" [{lo}–{hi}]"
    return text


def summary_tables(frame: pl.DataFrame, period_type: str = "week") -> Group:
    """Lab-wide headline metrics per period, and the AI share of tasks per team.

    Drawn with :data:`COMPACT` so that both fit 80 columns for a lab of five teams with names up
    to 14 characters; headers wrap at spaces and are never cut.
    """
    shown = frame.filter(pl.col("period_type") == period_type)
    lab = shown.filter(pl.col("cut") == "lab")
    headline = Table(title=f"Lab-wide, per {period_type}", title_justify="left", **COMPACT)
    headline.add_column(period_type, no_wrap=True)
    for _, _, title in SUMMARY_COLUMNS:
        # fixed widths: rich would otherwise share the width out and fold words it need not
        headline.add_column(title, justify="right", overflow="fold", width=max(10, *map(len, title.split())))
    for period in sorted(lab["period"].unique().to_list()):
        cells = []
        for indicator, metric, _ in SUMMARY_COLUMNS:
            row = lab.filter(
                (pl.col("period") == period) & (pl.col("indicator") == indicator) & (pl.col("metric") == metric)
            )
            cells.append(cell_text(metric, row["value"][0], row["suppressed"][0]) if row.height else "–")
        headline.add_row(period, *cells)

    teams = shown.filter((pl.col("cut") == "team") & (pl.col("metric") == "ai_share"))
    names = sorted(teams["cut_value"].unique().to_list())
    by_team = Table(title=f"AI share of tasks by team, per {period_type}", title_justify="left", **COMPACT)
    by_team.add_column(period_type, no_wrap=True)
    for name in names:
        # "suppressed" whole; a team name whole up to 14 characters, a longer one folds, never cut
        by_team.add_column(name, justify="right", overflow="fold", width=min(max(len(name), 10), 14))
    for period in sorted(teams["period"].unique().to_list()):
        row_cells = []
        for name in names:
            row = teams.filter((pl.col("period") == period) & (pl.col("cut_value") == name))
            row_cells.append(cell_text("ai_share", row["value"][0], row["suppressed"][0]) if row.height else "–")
        by_team.add_row(period, *row_cells)
    return Group(headline, by_team)
