"""What the report and the export know about each indicator: title, Table 1 row, definition.

The report is built *generically* over ``indicator_values``: whatever indicator rows exist are
shown, and an indicator of DESIGN.md that has no rows yet is listed as "not yet computed".
This catalog only adds the words around the numbers:

* ``table1_row`` — the row of Table 1 of the CSET workshop report *When AI Builds AI* (2025),
  "Signs of how automated AI R&D is progressing inside AI companies", that the indicator
  measures, named as DESIGN.md and issue 6 phrase it;
* ``definition`` — the indicator module's docstring when the module exists (the code is the
  source of truth), else DESIGN.md's one-line definition;
* ``names`` — the stored indicator names it may appear under (the indicator jobs are being
  extended; the first name present in the table wins).

An indicator present in the table but unknown here is still shown and exported, under its
stored name, with its module docstring as definition.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect


@dataclasses.dataclass(frozen=True)
class IndicatorInfo:
    key: str
    title: str
    table1_row: str
    design_definition: str
    names: tuple[str, ...]
    #: metric shown in headlines / summaries first (when present)
    lead_metrics: tuple[str, ...] = ()


CATALOG: tuple[IndicatorInfo, ...] = (
    IndicatorInfo(
        "automation_share", "Automation share", "automation share",
        "AI, mixed and human shares of tasks whose executor is known (unknown_share: those left out); "
        "time-weighted: Σ human_minutes of successful AI tasks / Σ human_minutes of completed tasks; "
        "measured_share: tasks whose size is not a configured default.",
        ("automation_share",), ("time_weighted_ai_share", "ai_share"),
    ),
    IndicatorInfo(
        "task_size", "Delegated task size", "delegated task size",
        "Median and p90 of human_minutes of AI tasks; share over 1 h, 8 h, 40 h; measured_share: "
        "AI tasks whose size is not a configured default.",
        ("task_size", "delegated_task_size"), ("median_minutes", "p90_minutes"),
    ),
    IndicatorInfo(
        "time_horizon", "Time horizon", "time horizon",
        "METR's method: weighted, L2-regularized logistic fit of AI success on log2(human_minutes); "
        "the 50 % and 80 % horizons, hierarchical-bootstrap 95 % interval; doubling time across periods.",
        ("time_horizon",), ("h50_minutes",),
    ),
    IndicatorInfo(
        "ladder", "Sophistication ladder", "sophistication ladder",
        "AI share per rung (engineering, experiments, ideation, strategy); the highest rung where "
        "AI share ≥ 10 %.",
        ("sophistication_ladder", "ladder"), ("ai_share",),
    ),
    IndicatorInfo(
        "tasks_involved", "Tasks involved", "tasks involved",
        "Distribution of AI tasks across the six activity categories, and its change.",
        ("tasks_involved",), (),
    ),
    IndicatorInfo(
        "review_frequency", "Human review frequency", "human review frequency",
        "Reviews per AI task; share of AI tasks with no review; intervention rate (rejected + "
        "modified + intervened) / reviews; review minutes per AI task.",
        ("review_frequency",), ("unreviewed_share", "intervention_rate"),
    ),
    IndicatorInfo(
        "experiment_compute", "AI-vs-human experiment compute", "AI-vs-human experiment compute",
        "Share of accelerator-hours on AI-designed (and mixed) experiments.",
        ("experiment_compute",), ("ai_designed_share",),
    ),
    IndicatorInfo(
        "first_authorship", "AI first authorship", "AI first authorship",
        "Share of contributions whose first author is AI; mean ai_share.",
        ("authorship", "first_authorship", "ai_first_authorship"), ("ai_first_author_share", "mean_ai_share"),
    ),
    IndicatorInfo(
        "deployment_gap", "Internal–public gap", "internal–public gap",
        "Days from internal_at to public_at per model; unreleased models count as open gaps "
        "(lower bounds).",
        ("release_gap", "deployment_gap", "internal_public_gap"), ("mean_gap_days",),
    ),
    IndicatorInfo(
        "compute_multiplier", "Compute multiplier", "compute multiplier",
        "Baseline compute_to_target / compute_to_target for the same recipe and target loss; its trend.",
        ("compute_multiplier",), (),
    ),
    IndicatorInfo(
        "impressions", "Impressions", "impressions",
        "Mean score and share ≥ 4 per question.",
        ("impressions",), (),
    ),
    IndicatorInfo(
        "spend_distribution", "R&D spend distribution", "R&D spend distribution",
        "Share of spend by category; AI-tool spend per active researcher.",
        ("spend_distribution", "spend"), (),
    ),
)

BY_KEY = {info.key: info for info in CATALOG}


def info_for(stored_name: str) -> IndicatorInfo:
    """The catalog entry for a stored indicator name (a generic one when unknown)."""
    for info in CATALOG:
        if stored_name in info.names:
            return info
    title = stored_name.replace("_", " ").capitalize()
    return IndicatorInfo(stored_name, title, "(not in Table 1)", "", (stored_name,))


def resolve(info: IndicatorInfo, present: set[str] | list[str]) -> str | None:
    """The stored name under which ``info`` is present, or None (not yet computed)."""
    for name in info.names:
        if name in present:
            return name
    return None


def definition(stored_name: str) -> str:
    """The indicator's definition: its module docstring if it has a module, else DESIGN.md's."""
    try:
        module = importlib.import_module(f"autoscope.pipelines.indicators.{stored_name}")
    except ImportError:
        module = None
    doc = inspect.getdoc(module) if module is not None else None
    return doc or info_for(stored_name).design_definition or "(no definition recorded)"


def metric_label(metric: str) -> str:
    return metric.replace("_", " ")


def is_share(metric: str) -> bool:
    """Metrics shown as percentages: shares and rates (values in 0..1)."""
    return metric.endswith(("_share", "_rate")) or metric.startswith("share_")
