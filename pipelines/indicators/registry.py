"""The one indicator registry: every indicator the job computes, the report shows and the export
writes, with one compute protocol and the words around its numbers.

Each :class:`Indicator` names its module in :mod:`autoscope.pipelines.indicators` (imported
when first computed, so the report and the export, which only read, do not load the
computations) and carries what the report and the export say about it:

* ``table1_row`` — the row of Table 1 of the CSET workshop report *When AI Builds AI* (2025),
  "Signs of how automated AI R&D is progressing inside AI companies", that it measures;
* ``title``, ``design_definition`` (one line), ``names`` (the stored indicator names it may
  appear under; the first present wins) and ``lead_metrics`` (shown first in summaries).

The compute protocol is :meth:`Indicator.compute` — ``(source, scope, k) -> IndicatorRows``,
the rows and (for the time horizon) its bootstrap replicates — used by the job
(:mod:`autoscope.pipelines.jobs`) and the benchmark. The modules keep their own signatures;
the differences are declared here once: the ladder needs ``k`` (its highest rung counts only
rungs whose share is released), the time horizon returns replicates and runs apart (Python
and numpy work that the job overlaps with the DuckDB queries of the others).
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from autoscope.pipelines.indicators.cells import Facts, Scope


@dataclasses.dataclass(frozen=True)
class IndicatorRows:
    """What one indicator computed: its cells, and bootstrap replicates keyed by
    (period type, period, cut, cut value) where it has them."""

    frame: pl.DataFrame
    replicates: dict[tuple[str, str, str, str], Any]


@dataclasses.dataclass(frozen=True)
class Indicator:
    #: the module in autoscope.pipelines.indicators that computes it; None for a stored
    #: indicator the registry does not know (shown under its stored name)
    module_name: str | None
    key: str
    title: str
    table1_row: str
    design_definition: str
    names: tuple[str, ...]
    #: metric shown in headlines / summaries first (when present)
    lead_metrics: tuple[str, ...] = ()
    #: its module's ``compute`` takes the k-anonymity threshold
    takes_k: bool = False
    #: its module's ``compute`` returns (rows, bootstrap replicates) and runs apart from the others
    bootstrapped: bool = False

    @property
    def module(self) -> ModuleType:
        if self.module_name is None:
            raise LookupError(f"{self.key!r} is not an indicator of the registry")
        return importlib.import_module(f"autoscope.pipelines.indicators.{self.module_name}")

    @property
    def name(self) -> str:
        """The name the job stores its rows under (``indicator_values.indicator``)."""
        return self.module.NAME

    @property
    def always_full(self) -> bool:
        """Computed over every period on every run (small tables whose rows span periods)."""
        return bool(getattr(self.module, "ALWAYS_FULL", False))

    def release_shape(self) -> list[tuple[str, str]]:
        """(metric, cut) of every row it releases where it has events: the module's ``SHAPE``,
        else its ``METRICS`` over the lab-wide cut and its ``CUTS``; every (metric, ``team``)
        brings (metric, ``team_class``), the cut team classes add (``cells.Scope.cuts_for``)."""
        module = self.module
        shape = getattr(module, "SHAPE", None)
        if shape is None and hasattr(module, "METRICS"):
            shape = [(m, c) for m in module.METRICS for c in ("lab", *getattr(module, "CUTS", ()))]
        shape = list(shape or ())
        return shape + [(m, "team_class") for m, c in shape if c == "team" and (m, "team_class") not in shape]

    def compute(self, source: duckdb.DuckDBPyConnection | Facts, scope: Scope, k: int) -> IndicatorRows:
        """The indicator's cells for ``scope`` (before anonymization) from a connection or the
        run's shared fine tables (``Facts``; the time horizon and the always-full ones need a
        connection)."""
        module = self.module
        if self.bootstrapped:
            frame, replicates = module.compute(source, scope)
            return IndicatorRows(frame, replicates)
        frame = module.compute(source, scope, k) if self.takes_k else module.compute(source, scope)
        return IndicatorRows(frame, {})


REGISTRY: tuple[Indicator, ...] = (
    Indicator(
        "automation_share",
        "automation_share",
        "Automation share",
        "automation share",
        "AI, mixed and human shares of tasks whose executor is known (unknown_share: those left out); "
        "time-weighted: Σ human_minutes of successful AI tasks / Σ human_minutes of completed tasks; "
        "measured_share: tasks whose size is not a configured default.",
        ("automation_share",),
        ("time_weighted_ai_share", "ai_share"),
    ),
    Indicator(
        "task_size",
        "task_size",
        "Delegated task size",
        "delegated task size",
        "Median and p90 of human_minutes of AI tasks; share over 1 h, 8 h, 40 h; measured_share: "
        "AI tasks whose size is not a configured default.",
        ("task_size", "delegated_task_size"),
        ("median_minutes", "p90_minutes"),
    ),
    Indicator(
        "time_horizon",
        "time_horizon",
        "Time horizon",
        "time horizon",
        "METR's method: weighted, L2-regularized logistic fit of AI success on log2(human_minutes); "
        "the 50 % and 80 % horizons, hierarchical-bootstrap 95 % interval; doubling time across periods.",
        ("time_horizon",),
        ("h50_minutes",),
        bootstrapped=True,
    ),
    Indicator(
        "ladder",
        "ladder",
        "Sophistication ladder",
        "sophistication ladder",
        "AI share per rung (engineering, experiments, ideation, strategy); the highest rung where AI share ≥ 10 %.",
        ("sophistication_ladder", "ladder"),
        ("ai_share",),
        takes_k=True,
    ),
    Indicator(
        "tasks_involved",
        "tasks_involved",
        "Tasks involved",
        "tasks involved",
        "Distribution of AI tasks across the six activity categories, and its change.",
        ("tasks_involved",),
        (),
    ),
    Indicator(
        "review_frequency",
        "review_frequency",
        "Human review frequency",
        "human review frequency",
        "A person's reviews per AI task; shares of AI tasks reviewed by a person, let through by a "
        "standing rule only, and unreviewed (of which never asked); intervention rate (rejected + "
        "modified + intervened) / a person's reviews; review minutes per AI task.",
        ("review_frequency",),
        ("unreviewed_share", "intervention_rate"),
    ),
    Indicator(
        "ai_review",
        "ai_review",
        "AI as reviewer",
        "GovAI (2026): oversight of AI work — AI acting as reviewer (engineering analytics report it too)",
        "Of the reviews of AI tasks, the share an AI did; shares of AI tasks an AI reviewed, and reviewed "
        "only by AI (reviewed, every review an AI's).",
        ("ai_review",),
        ("ai_review_share", "ai_only_reviewed_share"),
    ),
    Indicator(
        "experiment_compute",
        "experiment_compute",
        "AI-vs-human experiment compute",
        "AI-vs-human experiment compute",
        "Share of accelerator-hours on AI-designed (and mixed) experiments.",
        ("experiment_compute",),
        ("ai_designed_share",),
    ),
    Indicator(
        "authorship",
        "first_authorship",
        "AI first authorship",
        "AI first authorship",
        "Share of contributions whose first author is AI; mean ai_share.",
        ("authorship", "first_authorship", "ai_first_authorship"),
        ("ai_first_author_share", "mean_ai_share"),
    ),
    Indicator(
        "merged_code",
        "merged_code",
        "Merged code written with AI",
        "Labs' own disclosures: share of merged code written by AI; engineering analytics: AI-written lines' survival",
        "Lines added by commits that reached the default branch, by class (AI-authored, AI-co-authored, "
        "AI-assisted, human; automation apart), from git only; survival: of the AI-written (and human) lines "
        "merged in a month or quarter, the share still present at the end of the next one (git blame).",
        ("merged_code",),
        ("ai_share", "ai_survival_share"),
    ),
    Indicator(
        "release_gap",
        "deployment_gap",
        "Internal–public gap",
        "internal–public gap",
        "Days from internal_at to public_at per model; unreleased models count as open gaps (lower bounds).",
        ("release_gap", "deployment_gap", "internal_public_gap"),
        ("mean_gap_days",),
    ),
    Indicator(
        "compute_multiplier",
        "compute_multiplier",
        "Compute multiplier",
        "compute multiplier",
        "Baseline compute_to_target / compute_to_target for the same recipe and target loss; its trend.",
        ("compute_multiplier",),
        (),
    ),
    Indicator(
        "impressions",
        "impressions",
        "Impressions",
        "impressions",
        "Mean score and share ≥ 4 per question.",
        ("impressions",),
        (),
    ),
    Indicator(
        "spend",
        "spend_distribution",
        "R&D spend distribution",
        "R&D spend distribution",
        "Share of spend by category; AI-tool spend per active researcher.",
        ("spend_distribution", "spend"),
        (),
    ),
    Indicator(
        "escaped_errors",
        "escaped_errors",
        "Escaped errors by oversight level",
        "GovAI (2026): AI-introduced errors escaping human review; AI subversion incidents",
        "Incidents (and git reverts and Fixes: references) per 100 units of work, placed in the period of the work "
        "that introduced them: AI tasks by oversight (person-reviewed, rule-approved, never asked, no decision), "
        "human tasks, AI and human commits; subversion incidents per 100 AI tasks; kinds, finders and severity of "
        "the errors in AI work.",
        ("escaped_errors",),
        ("escaped_per_100_ai_tasks", "escaped_per_100_human_tasks"),
    ),
    Indicator(
        "agent_permissions",
        "agent_permissions",
        "What agents may do",
        "GovAI (2026): extent of automation and oversight; agents' permission and approval modes",
        "Share of AI tasks done under each permission scope (repo write, shell, job submission, internet, secrets, "
        "production deploy) and under a no-approval mode; agents (person × agent) that did work holding internet, "
        "secrets or production-deploy access.",
        ("agent_permissions",),
        ("share_under_no_approval", "agents_with_broad_scope"),
    ),
    Indicator(
        "time_allocation",
        "time_allocation",
        "Researcher time allocation",
        "GovAI (2026): researcher time allocation",
        "Share of researchers' time spent directing and reviewing AI versus their own work, from survey "
        "answers, else time tracking, else (a lower bound, minutes only) agents' active time and review "
        "minutes; source_*: which one the cell used.",
        ("time_allocation",),
        ("ai_directed_share", "ai_directed_minutes_per_researcher"),
    ),
    Indicator(
        "capital_share",
        "capital_share",
        "Capital share of R&D spending",
        "GovAI (2026): capital share of AI R&D spending",
        "(compute + AI tools + data) / (those + staff) of the spend reported, and its change from the "
        "previous period; NULL without staff cost.",
        ("capital_share",),
        ("capital_share", "change_capital_share"),
    ),
)

BY_KEY: dict[str, Indicator] = {indicator.key: indicator for indicator in REGISTRY}
