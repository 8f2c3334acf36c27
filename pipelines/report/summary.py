"""The plain-words summary: what moved most, generated from the numbers alone.

For every lab-wide (or the selected team's) share metric, the change from the previous period
to this one; when the previous period has no data, from the first to the last week of this
period. The largest moves (in percentage points) are told in sentences, then where AI share is
highest among teams, and how many cells are suppressed.
"""

from __future__ import annotations

import dataclasses

import polars as pl

from autoscope.pipelines.report.catalog import info_for, is_share
from autoscope.pipelines.report.data import Period, find

#: how a metric reads in a sentence (falls back to its name in words)
WORDS = {
    ("automation_share", "ai_share"): "the AI share of tasks",
    ("automation_share", "time_weighted_ai_share"): "the time-weighted AI share of R&D work",
    ("automation_share", "mixed_share"): "the share of tasks done by AI and humans together",
    ("automation_share", "human_share"): "the human-only share of tasks",
    ("review_frequency", "unreviewed_share"): "the share of AI tasks merged without human review",
    ("review_frequency", "intervention_rate"): "the rate at which reviewers intervene",
    ("experiment_compute", "ai_designed_share"): "the share of experiment compute on AI-designed experiments",
    (
        "experiment_compute",
        "ai_or_mixed_designed_share",
    ): "the share of experiment compute on AI-designed or jointly designed experiments",
    ("impressions", "share_4_or_more"): "the share of survey answers scoring 4 or 5 (impressions)",
    ("authorship", "ai_first_author_share"): "the share of contributions with AI as first author",
    ("authorship", "mean_ai_share"): "AI's mean share of contributions",
    ("task_size", "share_over_1h"): "the share of AI tasks over 1 hour of human work",
    ("task_size", "share_over_8h"): "the share of AI tasks over 8 hours of human work",
    ("task_size", "share_over_40h"): "the share of AI tasks over 40 hours of human work",
    ("ladder", "ai_share"): "the AI share of tasks (ladder, all rungs)",
    ("spend", "share_ai_tools"): "the share of R&D spend on AI tools",
    ("spend", "share_compute"): "the share of R&D spend on compute",
}


def words(indicator: str, metric: str) -> str:
    if (indicator, metric) in WORDS:
        return WORDS[(indicator, metric)]
    if indicator == "tasks_involved" and metric.startswith("share_"):
        return f"the share of AI tasks that are {metric[6:].replace('_', ' ')}"
    return f"{info_for(indicator).title.lower()}: {metric.replace('_', ' ')}"


@dataclasses.dataclass(frozen=True)
class Move:
    indicator: str
    metric: str
    before: float
    after: float
    before_label: str
    after_label: str

    @property
    def change(self) -> float:
        return self.after - self.before


def _value(
    frame: pl.DataFrame, indicator: str, metric: str, ptype: str, period: str, cut: str, cut_value: str
) -> float | None:
    value = find(frame, indicator, metric, ptype, period, cut, cut_value).value
    return None if value is None else float(value)


def moves(frame: pl.DataFrame, period: Period, cut: str = "lab", cut_value: str = "all") -> list[Move]:
    """Changes of every share metric, largest first."""
    previous = period.previous()
    weeks = period.weeks()
    present_weeks = [
        w for w in weeks if frame.filter((pl.col("period_type") == "week") & (pl.col("period") == w)).height
    ]
    out = []
    pairs = frame.select(["indicator", "metric"]).unique().sort(["indicator", "metric"]).iter_rows()
    for indicator, metric in (pair for pair in pairs if is_share(pair[1])):
        now = _value(frame, indicator, metric, period.period_type, period.label, cut, cut_value)
        before = _value(frame, indicator, metric, previous.period_type, previous.label, cut, cut_value)
        if now is not None and before is not None:
            out.append(Move(indicator, metric, before, now, previous.label, period.label))
        elif len(present_weeks) >= 2:
            first = _value(frame, indicator, metric, "week", present_weeks[0], cut, cut_value)
            last = _value(frame, indicator, metric, "week", present_weeks[-1], cut, cut_value)
            if first is not None and last is not None:
                out.append(Move(indicator, metric, first, last, present_weeks[0], present_weeks[-1]))
    return sorted(out, key=lambda m: abs(m.change), reverse=True)


def _pct(value: float) -> str:
    return f"{value:.1%}".replace("%", " %")


def sentences(frame: pl.DataFrame, period: Period, team: str | None = None, top: int = 3) -> list[str]:
    cut, cut_value = ("team", team) if team else ("lab", "all")
    where = f"In team {team}" if team else "Lab-wide"
    found = moves(frame, period, cut, cut_value)
    out: list[str] = []
    if not found:
        return [
            f"{where}, there is not enough released data in {period.label} to say what moved "
            "(no two comparable periods with released values)."
        ]
    chosen, seen = [], set()
    for move in found:  # one sentence per indicator: its biggest move
        same = any(m.before == move.before and m.after == move.after for m in chosen)  # one number, two names
        if move.indicator not in seen and not same:
            seen.add(move.indicator)
            chosen.append(move)
    for index, move in enumerate(chosen[:top]):
        direction = "rose" if move.change > 0 else "fell" if move.change < 0 else "held"
        lead = f"{where}, the largest move" if index == 0 else "Next"
        points = f"{abs(move.change) * 100:.1f} percentage points"
        out.append(
            f"{lead}: {words(move.indicator, move.metric)} {direction} from {_pct(move.before)} "
            f"({move.before_label}) to {_pct(move.after)} ({move.after_label}), {points}."
        )
    if not team:
        teams = frame.filter(
            (pl.col("indicator") == "automation_share")
            & (pl.col("metric") == "ai_share")
            & (pl.col("period_type") == period.period_type)
            & (pl.col("period") == period.label)
            & (pl.col("cut") == "team")
        )
        released = teams.filter(~pl.col("suppressed") & pl.col("value").is_not_null()).sort("value", descending=True)
        if released.height >= 2:
            hi, lo = released.row(0, named=True), released.row(released.height - 1, named=True)
            out.append(
                f"Among teams with enough people to report, AI does the largest share of tasks in "
                f"{hi['cut_value']} ({_pct(hi['value'])}) and the smallest in {lo['cut_value']} ({_pct(lo['value'])})."
            )
    cells = frame.filter((pl.col("period_type") == period.period_type) & (pl.col("period") == period.label)).unique(
        subset=["indicator", "cut", "cut_value"]
    )
    hidden = cells.filter(pl.col("suppressed"))
    if hidden.height:
        reason = pl.col("suppression_reason") if "suppression_reason" in hidden.columns else pl.lit(None)
        small = hidden.filter(reason == "too_few_people").height
        protecting = hidden.filter(reason.is_not_null() & (reason != "too_few_people")).height
        unknown = hidden.height - small - protecting
        why = [f"{small} because fewer than k people contributed"] if small else []
        if protecting:
            why.append(f"{protecting} to protect another suppressed cell (complementary suppression)")
        if unknown:
            why.append(f"{unknown} for a reason not recorded (stored before reasons were kept)")
        out.append(
            f"{hidden.height} of {cells.height} cells of {period.label} are suppressed: "
            + " and ".join(why)
            + "; they are labelled, not hidden."
        )
    return out
