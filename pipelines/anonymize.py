"""k-anonymity threshold with complementary suppression across every cut, period and
indicator released together.

Primary suppression: a cell (:data:`CELL_KEY`) is released only when at least k distinct actors
contribute. Suppressed cells keep their row (``suppressed = true``) with value, n_events,
n_actors and interval blanked: the reader sees that the cell exists and is suppressed, and
learns nothing else. k can be raised (``AUTOSCOPE_K`` or ``--k``) but never lowered below
:data:`MIN_K`.

Families. Indicators computed from the same events release the same counts (the number of
AI tasks of a team-week is in task size's n_events, in review frequency's, in tasks involved's
in AI as reviewer's, and in automation share's ``ai_share × n_known``, n_known being its n_events less
``unknown_share × n_events``). Each indicator decides its own cells by the
rule below (for what only it releases), and the count they share is protected across them:
a family cell's shared count is hidden only where *every* indicator that releases it
(:data:`SHARED_COUNT`) hides the cell, and that set of cells must obey the rule as well, over
the same groups (team classes included). A
family cell added to it is suppressed in every indicator of the family (:data:`FAMILIES`).
Where the shared count is hidden, an indicator without the cell (task size where a team had
no AI task) gets it suppressed too, so that its absence says nothing.

Groups. A released *total* and its released *parts* let a reader difference out the
suppressed parts: n_events exactly, and every count a cell's ratios give with it — a share
times the denominator the cell states (automation share: AI, mixed and human tasks over
n_known, unknown ones over n_events, default-sized ones behind measured_share; task size:
default-sized AI tasks over its AI tasks). Every such count is a sum over the cell's own
events, shown or hidden with the cell, so the rule below, which is about cells, protects each
of them as it protects n_events: whatever is counted, a group's total minus its released
parts is the sum over its hidden parts. A count that a second indicator releases under
decisions of its own needs more (Families); of the counts above only the AI tasks are. The
totals and parts released together are:

* every cut (team, team class, rung, category, question) of a period partitions the lab-wide
  cell of that period (each event has exactly one team, one rung, …);
* with team classes (:mod:`autoscope.pipelines.team_classes`, passed as ``team_classes``), the
  teams of a class partition the class's cell of that period (a team in no class is a part of
  ``unclassified``): the class cell is a total whose parts are team cells, so a class shown beside
  all but one of its teams would show that team;
* the months of a quarter partition the quarter (same family, cut and cut value), and the ISO
  weeks overlapping a month are treated as partitioning that month. A week straddling a month
  end is a part of both months' groups: it partitions neither exactly, but when one month's
  share of it is known (that month empty, or its other weeks all shown), the other month less
  its other weeks is the week. This links the groups of neighbouring months, and of
  neighbouring quarters where a week straddles a quarter end (the incremental job in
  ``jobs.py`` recomputes such a neighbour with the quarter).

Rule, applied to every group until nothing changes:

* a group of one part that lies wholly inside its total (a class of one team; a cut in which
  one team, class, rung… had events; a quarter with events in one month): the part is the
  total, so they are hidden together — a released total with its only part hidden gets the
  total hidden (``protects_cut`` or ``protects_period``). A week straddling a month end is only
  partly in each month: the month shows its share of the week, not the week, and the other
  month's group protects the rest, so such a group is left to the rule below;
* total released: the suppressed parts are none, all of them (at least two: their sum is the
  total, which has at least k actors), or at least two of which one has at least k actors. One suppressed
  part alone is the total minus the released parts; a combination of parts each under k may
  rest on fewer than k actors (they can share actors, and only per-cell counts are known). A
  group that breaks the rule gets the released part with the fewest actors (ties: fewer
  events, then period, then name) suppressed too — a released part has at least k actors.
* total suppressed: at least one part is suppressed too, else the total is the sum of its
  released parts (a suppressed total is no secret when its parts are all shown); the part with
  the fewest actors is suppressed.

No group then holds exactly one unknown, so no suppressed cell follows from one group's sum; a
suppressed cell that chained through others (recovered in one group, then used in another) would
need such a group. ``tests/pipelines/test_suppression_property.py`` checks the stronger property
directly: for generated data sets, no suppressed count is a linear combination of released ones.
Each step only adds suppressions, so the loop ends.

Reasons. Every suppressed cell carries why (``suppression_reason``, :data:`REASONS` in words):
``too_few_people`` (primary: fewer than k people), ``protects_cut`` (hidden so that a suppressed
cell of the same breakdown — another team, class, rung, category — cannot be worked out from the
period's lab-wide total or its class's total), ``protects_period`` (the same across weeks in a month, months in a
quarter), ``protects_shared_count`` (hidden so that the AI-task count this indicator shares with
the others of its family does not give a suppressed cell away). A cell keeps the first reason
it was hidden for. Telling a reader that a cell hides another says it has k people or more;
that is no number a suppressed cell holds, and the rule above already lets every group with
hidden parts have such a cell.
"""

from __future__ import annotations

import datetime as dt
import os

import polars as pl

from autoscope.pipelines.periods import bounds, label, parent
from autoscope.pipelines.team_classes import CUT as CLASS_CUT
from autoscope.pipelines.team_classes import UNCLASSIFIED, TeamClasses

MIN_K = 5
K_ENV = "AUTOSCOPE_K"

#: one cell = these columns; its metrics share actors, events and suppression
CELL_KEY = ["indicator", "period_type", "period", "cut", "cut_value"]
#: the cell of a family (its shared count)
FAMILY_KEY = ["family", "period_type", "period", "cut", "cut_value"]
#: why a cell is suppressed: the code stored in ``suppression_reason`` → the words a reader sees
REASONS = {
    "too_few_people": "fewer than k people contributed to this cell",
    "protects_cut": (
        "hidden to protect another suppressed cell of the same breakdown (complementary "
        "suppression): with the lab-wide total and every other part shown, that cell could be "
        "worked out by subtraction"
    ),
    "protects_period": (
        "hidden to protect a suppressed cell of another period (complementary suppression): "
        "weeks add up to their month and months to their quarter, so one hidden period "
        "could be worked out from the others"
    ),
    "protects_shared_count": (
        "hidden to protect a suppressed cell of another indicator (complementary "
        "suppression): the indicators about AI tasks share one count, so hiding it in "
        "one and showing it in another would give it away"
    ),
}
BLANKED = ("value", "n_events", "n_actors", "ci_low", "ci_high", "noise_scale")
#: indicators over the same events (tasks, and reviews of AI tasks)
FAMILIES = {
    name: "tasks"
    for name in (
        "automation_share",
        "task_size",
        "time_horizon",
        "ladder",
        "tasks_involved",
        "review_frequency",
        "ai_review",
        "escaped_errors",
        "agent_permissions",
    )
}
#: per family, the indicators that release its shared count (the AI tasks) in every cell they
#: have. The ladder releases it only by rung, the time horizon only lab-wide: leaving them out
#: can only make the hidden set larger, never let a disclosure through.
SHARED_COUNT = {
    "tasks": (
        "automation_share",
        "task_size",
        "tasks_involved",
        "review_frequency",
        "ai_review",
        "escaped_errors",
        "agent_permissions",
    )
}
#: per family, the indicator whose actor count is the population behind the shared count: a
#: cell's AI tasks are a share of the work of everyone with a task in it (automation share
#: releases that count wherever that population reaches k; review frequency's count is capped by
#: its reviewers, task size's by the people with AI tasks)
SHARED_ACTORS = {"tasks": "automation_share"}


def resolve_k(k: int | None = None) -> int:
    """The k in force: the argument, else ``$AUTOSCOPE_K``, else 5; below 5 is refused."""
    chosen = k if k is not None else int(os.environ.get(K_ENV, MIN_K))
    if chosen < MIN_K:
        raise ValueError(f"k must be at least {MIN_K} (got {chosen}); it can only be raised")
    return chosen


def partitions(per_cell: pl.DataFrame, owner: str, team_classes: TeamClasses = ()) -> pl.DataFrame:
    """part cell key (``owner`` + period_type, period, cut, cut_value) → group id, total cell
    key (prefixed ``t_``) and ``exact`` (the part lies wholly inside the total: not a week
    straddling a month end), for every total/parts group among ``per_cell``: the cuts of the lab
    cell, the periods of a period and (with ``team_classes``) the teams of a class."""
    cut_groups = per_cell.filter(pl.col("cut") != "lab").with_columns(
        group=pl.concat_str([pl.lit("cut"), owner, "period_type", "period", "cut"], separator="|"),
        t_period_type=pl.col("period_type"),
        t_period=pl.col("period"),
        t_cut=pl.lit("lab"),
        t_cut_value=pl.lit("all"),
        exact=pl.lit(True),
    )
    labels = per_cell.select(["period_type", "period"]).unique()
    parents = [(pt, p, *up, len(ups) == 1) for pt, p in labels.iter_rows() for ups in [_parents(pt, p)] for up in ups]
    parent_map = pl.DataFrame(
        parents,
        schema={
            "period_type": pl.Utf8,
            "period": pl.Utf8,
            "t_period_type": pl.Utf8,
            "t_period": pl.Utf8,
            "exact": pl.Boolean,
        },
        orient="row",
    )
    time_groups = (
        per_cell.join(parent_map, on=["period_type", "period"], how="left")
        .filter(pl.col("t_period").is_not_null())
        .with_columns(
            group=pl.concat_str(
                [pl.lit("time"), owner, "cut", "cut_value", "t_period_type", "t_period"], separator="|"
            ),
            t_cut=pl.col("cut"),
            t_cut_value=pl.col("cut_value"),
        )
    )
    cols = [owner, *CELL_KEY[1:], "group", "t_period_type", "t_period", "t_cut", "t_cut_value", "exact"]
    groups = [cut_groups.select(cols), time_groups.select(cols)]
    if team_classes:  # each class cell is the sum of its teams' cells
        classes = dict(team_classes)
        class_groups = (
            per_cell.filter(pl.col("cut") == "team")
            .with_columns(t_cut_value=pl.col("cut_value").replace_strict(classes, default=UNCLASSIFIED))
            .with_columns(
                group=pl.concat_str(
                    [pl.lit("cut"), owner, "period_type", "period", pl.lit(CLASS_CUT), "t_cut_value"], separator="|"
                ),
                t_period_type=pl.col("period_type"),
                t_period=pl.col("period"),
                t_cut=pl.lit(CLASS_CUT),
                exact=pl.lit(True),
            )
        )
        groups.append(class_groups.select(cols))
    return pl.concat(groups, how="vertical")


def _parents(period_type: str, period: str) -> list[tuple[str, str] | tuple[None, None]]:
    """The totals a period is a part of: its :func:`parent`, and for a week straddling a month
    end the other month too. Such a week is not a part of either month exactly, but a reader who
    knows one month's share of it (the other month empty, or differenced out) recovers it from
    either, so it is protected in both groups."""
    up = parent(period_type, period)
    if up is None:
        return [(None, None)]
    if period_type != "week":
        return [up]
    start, end = bounds("week", period)
    months = {label("month", start), label("month", end - dt.timedelta(days=1))}
    return [up, *sorted(("month", m) for m in months - {up[1]})]


def _repairs(status: pl.DataFrame, links: pl.DataFrame, owner: str, k: int) -> pl.DataFrame:
    """The cells (``owner`` + period columns) to hide next: one per group that breaks the rule
    (module docstring), with the ``rule`` (``protects_cut`` or ``protects_period``) that hides it.
    ``status``: per cell ``hidden``, ``n_actors``, ``n_events``."""
    key = [owner, *CELL_KEY[1:]]
    totals = status.select(
        [pl.col(owner), *[pl.col(c).alias(f"t_{c}") for c in key[1:]], pl.col("hidden").alias("t_hidden")]
    )
    parts = links.join(status, on=key, how="inner").join(
        totals, on=[owner, "t_period_type", "t_period", "t_cut", "t_cut_value"], how="inner"
    )
    groups = parts.group_by("group").agg(
        t_hidden=pl.col("t_hidden").first(),
        hidden=pl.col("hidden").sum(),
        hidden_big=(pl.col("hidden") & (pl.col("n_actors") >= k)).any(),
        shown=(~pl.col("hidden")).sum(),
        exact=pl.col("exact").all(),
    )
    # a group of one part that is the total (a class of one team, a period in which one team
    # worked): not a week straddling a month end, which is only partly in the month
    lone = groups.filter(pl.col("exact") & ~pl.col("t_hidden") & (pl.col("hidden") == 1) & (pl.col("shown") == 0))
    broken = groups.filter(
        pl.when(pl.col("t_hidden"))
        .then(pl.col("hidden") == 0)
        .otherwise((pl.col("hidden") > 0) & (pl.col("shown") > 0) & ((pl.col("hidden") < 2) | ~pl.col("hidden_big")))
    )
    if broken.is_empty() and lone.is_empty():
        return status.clear().select(key).with_columns(rule=pl.lit(None, pl.Utf8))
    rule = (
        pl.when(pl.col("group").str.starts_with("cut|"))
        .then(pl.lit("protects_cut"))
        .otherwise(pl.lit("protects_period"))
    )
    smallest_shown = (  # in every broken group some part is shown: the smallest of them
        parts.join(broken.select("group"), on="group", how="semi")
        .filter(~pl.col("hidden"))
        .sort(["n_actors", "n_events", "period", "cut_value", "group"])
        .unique(subset=["group"], keep="first", maintain_order=True)
        .with_columns(rule=rule)
        .select([*key, "rule"])
    )
    lone_totals = (  # its total, released, would show the hidden part: hidden too
        parts.join(lone.select("group"), on="group", how="semi")
        .select([pl.col(owner), *[pl.col(f"t_{c}").alias(c) for c in key[1:]], "group"])
        .with_columns(rule=rule)
        .select([*key, "rule"])
    )
    return (
        pl.concat([smallest_shown, lone_totals], how="vertical")
        .sort([*key, "rule"])
        .unique(subset=key, keep="first", maintain_order=True)
        .select([*key, "rule"])
    )


def _shared_status(state: pl.DataFrame) -> pl.DataFrame:
    """Per family cell: its shared count hidden (hidden by every indicator that releases it
    and has the cell), with the actor and event counts of :data:`SHARED_ACTORS` (the smallest
    among the releasers where that indicator lacks the cell)."""
    releasers = [
        (family, name, SHARED_ACTORS.get(family) == name) for family, names in SHARED_COUNT.items() for name in names
    ]
    table = pl.DataFrame(
        releasers, schema={"family": pl.Utf8, "indicator": pl.Utf8, "measure": pl.Boolean}, orient="row"
    )
    measured = pl.col("measure")
    return (
        state.join(table, on=["family", "indicator"], how="inner")
        .group_by(FAMILY_KEY)
        .agg(
            hidden=pl.col("hidden").all(),
            n_actors=pl.col("n_actors").filter(measured).first().fill_null(pl.col("n_actors").min()),
            n_events=pl.col("n_events").filter(measured).first().fill_null(pl.col("n_events").min()),
        )
    )


def suppression(cells: pl.DataFrame, k: int, team_classes: TeamClasses = ()) -> pl.DataFrame:
    """One row per cell (:data:`CELL_KEY`) with its ``family``, ``suppressed`` (primary or
    complementary), ``suppression_reason`` (a key of :data:`REASONS`; None when released) and
    ``shared_hidden`` (the family's shared count is hidden there); ``cells`` holds the *true*
    n_actors and n_events (long or not); ``team_classes``: the team → class pairs the
    ``team_class`` cells were summed with (each class cell is a total over its teams' cells)."""
    state = (
        cells.select([*CELL_KEY, "n_actors", "n_events"])
        .unique(subset=CELL_KEY, keep="first")
        .with_columns(
            family=pl.col("indicator").replace_strict(FAMILIES, default=pl.col("indicator")),
            n_actors=pl.col("n_actors").fill_null(0),
            n_events=pl.col("n_events").fill_null(0),
        )
        .with_columns(hidden=pl.col("n_actors") < k)
        .with_columns(reason=pl.when(pl.col("hidden")).then(pl.lit("too_few_people")).otherwise(pl.lit(None, pl.Utf8)))
    )
    own_links = partitions(state, "indicator", team_classes)
    shared = _shared_status(state)
    family_links = partitions(shared, "family", team_classes)
    for _ in range(1000):
        own = _repairs(state, own_links, "indicator", k).with_columns(hit=pl.lit(True))
        family = (
            _repairs(_shared_status(state), family_links, "family", k)
            .drop("rule")
            .with_columns(family_hit=pl.lit(True))
        )
        if own.is_empty() and family.is_empty():
            break
        hit, family_hit = pl.col("hit").fill_null(False), pl.col("family_hit").fill_null(False)
        state = (
            state.join(own, on=CELL_KEY, how="left")
            .join(family, on=FAMILY_KEY, how="left")
            .with_columns(
                reason=pl.when(pl.col("hidden"))
                .then(pl.col("reason"))
                .when(hit)
                .then(pl.col("rule"))
                .when(family_hit)
                .then(pl.lit("protects_shared_count"))
                .otherwise(pl.lit(None, pl.Utf8)),
                hidden=pl.col("hidden") | hit | family_hit,
            )
            .drop("hit", "family_hit", "rule")
        )
    else:  # pragma: no cover - each pass hides at least one more of finitely many cells
        raise RuntimeError("complementary suppression did not settle")
    shared = _shared_status(state).select([*FAMILY_KEY, pl.col("hidden").alias("shared_hidden")])
    return state.join(shared, on=FAMILY_KEY, how="left").select(
        [
            *CELL_KEY,
            "family",
            pl.col("hidden").alias("suppressed"),
            pl.col("reason").alias("suppression_reason"),
            pl.col("shared_hidden").fill_null(False),
        ]
    )


def _fill_family_gaps(flagged: pl.DataFrame, decided: pl.DataFrame, shapes: pl.DataFrame | None) -> pl.DataFrame:
    """Rows for the family cells whose shared count is hidden, where an indicator lacks them.

    An indicator has no cell where it has no events (task size where a team had no AI task).
    Where the family hides the count, that absence would say what the suppression hides ("no
    AI task that week"), so the indicator gets the cell too, suppressed, with each
    metric it has for that cut: in ``shapes`` (indicator, metric, cut: what the release holds
    whether or not there were events) or, beyond those, elsewhere in the release."""
    hidden = decided.filter(pl.col("shared_hidden")).select(FAMILY_KEY).unique()
    if hidden.is_empty():
        return flagged
    shown = flagged.select(["indicator", "metric", "cut"])
    if shapes is not None:
        shown = pl.concat([shown, shapes.select(shown.columns)], how="vertical")
    shown = shown.unique().with_columns(
        family=pl.col("indicator").replace_strict(FAMILIES, default=pl.col("indicator"))
    )
    wanted = hidden.join(shown, on=["family", "cut"], how="inner").drop("family")
    missing = wanted.join(flagged.select([*CELL_KEY, "metric"]), on=[*CELL_KEY, "metric"], how="anti")
    if missing.is_empty():
        return flagged
    filler = missing.with_columns(suppressed=pl.lit(True), suppression_reason=pl.lit("protects_shared_count"))
    return pl.concat([flagged, filler], how="diagonal_relaxed")


def apply_k_threshold(
    cells: pl.DataFrame, k: int, shapes: pl.DataFrame | None = None, team_classes: TeamClasses = ()
) -> pl.DataFrame:
    """Mark suppressed cells (see :func:`suppression`), give a suppressed family cell to every
    indicator of its family (``shapes``: see :func:`_fill_family_gaps`), and blank what
    suppressed cells show. ``suppression_reason`` says why each suppressed cell is (module
    docstring, "Reasons"); the note says "suppressed"."""
    decided = suppression(cells, k, team_classes)
    flagged = cells.drop("suppressed", "suppression_reason", strict=False).join(
        decided.select([*CELL_KEY, "suppressed", "suppression_reason"]), on=CELL_KEY, how="left", maintain_order="left"
    )
    flagged = _fill_family_gaps(flagged, decided, shapes)
    suppressed = pl.col("suppressed")
    blank = [pl.when(suppressed).then(None).otherwise(pl.col(c)).alias(c) for c in BLANKED if c in cells.columns]
    out = flagged.with_columns(blank)
    if "note" in out.columns:
        out = out.with_columns(note=pl.when(suppressed).then(pl.lit("suppressed")).otherwise(pl.col("note")))
    return out
