"""The words the report and the export put around each indicator's numbers: definitions, which
direction is a concern, units. The indicators themselves — title, Table 1 row, stored names —
are the one registry's (:mod:`autoscope.pipelines.indicators.registry`).

The report is built *generically* over ``indicator_values``: whatever indicator rows exist are
shown, and an indicator of the project's brief that has no rows yet is listed as "not yet
computed". This catalog only adds the words around the numbers:

* :func:`reader_definition` — the plain-text definition readers see (report, dashboard,
  manifest), ending with the section of ``docs/indicators.md`` that gives the method in full;
  :func:`definition` — the engineers' one, the indicator module's docstring (the code is the
  source of truth), kept for tools;
* :data:`CONCERN` — per metric, the direction that is a concern (arrows follow it);
* :data:`UNITS` and :func:`metric_order` — units of bare numbers, and bucket order.

An indicator present in the table but unknown here is still shown and exported, under its
stored name.
"""

from __future__ import annotations

import inspect
import re

from autoscope.pipelines.indicators.registry import BY_KEY, REGISTRY, Indicator


def info_for(stored_name: str) -> Indicator:
    """The registry's indicator for a stored indicator name (a generic one when unknown)."""
    for info in REGISTRY:
        if stored_name in info.names:
            return info
    title = stored_name.replace("_", " ").capitalize()
    return Indicator(None, stored_name, title, "(not in Table 1)", "", (stored_name,))


def resolve(info: Indicator, present: set[str] | list[str]) -> str | None:
    """The stored name under which ``info`` is present, or None (not yet computed)."""
    for name in info.names:
        if name in present:
            return name
    return None


def definition(stored_name: str) -> str:
    """The engineers' definition: the indicator module's docstring, else the registry's one line."""
    info = BY_KEY.get(stored_name) or info_for(stored_name)
    doc = inspect.getdoc(info.module) if info.module_name is not None else None
    return doc or info.design_definition or "(no definition recorded)"


def metric_label(metric: str) -> str:
    return metric.replace("_", " ")


def is_share(metric: str) -> bool:
    """Metrics shown as percentages: shares and rates (values in 0..1)."""
    return metric.endswith(("_share", "_rate")) or metric.startswith("share_")


# ---------------------------------------------------------------- words for readers

#: where a reader finds each indicator's method in full: the project's own documentation
DOCS = "docs/indicators.md"

#: plain-text definitions (no code markup): what leadership and auditors read in the report,
#: the dashboard and the manifest. The module docstrings stay the engineers' definitions.
READER_DEFINITIONS = {
    "automation_share": (
        "The share of tasks done by AI, by AI and humans together, and by humans alone. The time-weighted AI "
        "share weighs each task by the human time it would have taken: the human-equivalent minutes of "
        "successful AI tasks divided by those of all completed tasks."
    ),
    "task_size": (
        "How big the tasks delegated to AI are, measured in the human time they would have taken: the median "
        "and the 90th percentile, and the share of AI tasks over 1 hour, over 8 hours and over 40 hours."
    ),
    "time_horizon": (
        "METR's time horizon: the length of task (in human time) at which AI succeeds half the time (50 %) or "
        "four times in five (80 %), from a logistic fit of AI success against the logarithm of task length, "
        "with a 95 % interval from a bootstrap over people and tasks. The doubling time is how long the 50 % "
        "horizon takes to double, fitted over three or more periods."
    ),
    "ladder": (
        "The AI share of tasks on each rung of the sophistication ladder (engineering, experiments, ideation, "
        "strategy), and the highest rung where AI does at least 10 % of the tasks."
    ),
    "tasks_involved": (
        "How AI tasks are spread over the six activity categories: each category's share of all AI tasks, and "
        "its change in percentage points from the previous period."
    ),
    "review_frequency": (
        "How much humans review AI work: a person's reviews per AI task; the shares of AI tasks a person "
        "reviewed, that a standing rule (an allowlist, accept-edits) let through, and that nobody decided "
        "(unreviewed; of which the agent ran with approval off: never asked); the intervention rate (a "
        "person's reviews that rejected, modified or intervened, out of a person's reviews); and review "
        "minutes per AI task."
    ),
    "experiment_compute": (
        "The share of experiment accelerator-hours spent on experiments designed by AI (and, separately, by AI "
        "or by AI and humans together)."
    ),
    "first_authorship": (
        "The share of contributions (commits, pull requests, papers) whose first author is an AI, and AI's "
        "mean share of each contribution."
    ),
    "merged_code": (
        "How much of the code that reached the default branch was written with AI: the lines added by merged "
        "commits, split by whose they are (AI-authored, AI-co-authored, AI-assisted, a person's alone; bots' "
        "lines counted apart), from git only. Survival: of the AI-written lines merged in a month (or quarter), "
        "the share still present at the end of the next month (quarter), beside the same share for human lines."
    ),
    "ai_review": (
        "How much of the reviewing of AI work an AI does: of the reviews of AI tasks, the share done by an AI "
        "reviewer; the share of AI tasks an AI reviewed; and the share reviewed only by AI (reviewed, but never "
        "by a person)."
    ),
    "deployment_gap": (
        "Days from a model's internal deployment to its public release. Models not yet public count with the "
        "days so far, so the figure is a lower bound while any is open."
    ),
    "compute_multiplier": (
        "How much less compute a recipe needs to reach the same target loss than its baseline (baseline "
        "compute divided by this compute), and its trend."
    ),
    "impressions": "Survey answers about AI's role: the mean score (1 to 5) and the share of answers of 4 or 5.",
    "spend_distribution": (
        "How R&D spend is split between AI tools, compute, data, staff and other costs (each category's share "
        "of the spend reported), and spend on AI tools per active researcher, in US dollars."
    ),
    "escaped_errors": (
        "How often errors escape into accepted work: incidents (defects, reverts, security and data problems, and "
        "AI subversion) found after the work was accepted, per 100 AI tasks, split by who let the AI work through "
        "(a person reviewed it, a standing rule approved it, the agent never asked, or no decision was recorded), "
        "beside the same rate for human tasks, and per 100 AI and human commits (git's reverts and fixes count). "
        "Each error counts in the period of the work that introduced it. Also: AI subversion incidents per 100 AI "
        "tasks, and the kinds, finders and severity of the errors in AI work."
    ),
    "agent_permissions": (
        "What AI agents may do while they work: the share of AI tasks done while the agent held each permission "
        "(writing the repository, running shell commands, submitting jobs, internet access, secrets, deploying to "
        "production) and while it ran without asking anyone; and how many agents (one person's agent each) did work "
        "while holding internet, secrets or production-deploy access."
    ),
    "time_allocation": (
        "The share of researchers' time spent directing and reviewing AI rather than on their own work. From "
        "survey answers where the period has them (they cover all of a person's time), else time tracking, "
        "else only what the tools measure — coding agents' active time driving them plus review minutes of AI "
        "work — which gives AI-directed minutes per researcher, a lower bound, and no share. The source rows "
        "say which source each cell used."
    ),
    "capital_share": (
        "The share of R&D spend that buys capital — compute, AI tools and data — rather than staff time: "
        "(compute + AI tools + data) / (those + staff), and its change in points from the previous period. "
        "Blank where no staff cost was reported."
    ),
}


def reader_definition(stored_name: str) -> str:
    """The plain-text definition a reader sees, ending with where the full method is documented."""
    info = BY_KEY.get(stored_name) or info_for(stored_name)
    text = READER_DEFINITIONS.get(info.key) or info.design_definition or "No definition recorded."
    anchor = info.title
    return f"{text} Full method: the Autoscope documentation, {DOCS}, section “{anchor}”."


#: which direction of a metric is a concern for oversight ("rise" or "fall"); metrics not listed
#: are neutral: their arrows are grey, since a move is not good or bad by itself (the AI share
#: rising is what the report measures, not a warning)
CONCERN = {
    ("review_frequency", "unreviewed_share"): "rise",
    ("review_frequency", "never_asked_share"): "rise",
    ("review_frequency", "person_reviewed_share"): "fall",
    ("review_frequency", "reviews_per_ai_task"): "fall",
    ("review_frequency", "review_minutes_per_ai_task"): "fall",
    ("review_frequency", "intervention_rate"): "rise",
    ("ai_review", "ai_only_reviewed_share"): "rise",
    ("merged_code", "ai_survival_share"): "fall",
    **{
        ("escaped_errors", m): "rise"
        for m in (
            "escaped_per_100_ai_tasks",
            "escaped_per_100_ai_tasks_person_reviewed",
            "escaped_per_100_ai_tasks_rule_approved",
            "escaped_per_100_ai_tasks_never_asked",
            "escaped_per_100_ai_tasks_no_decision",
            "escaped_per_100_human_tasks",
            "subversion_per_100_ai_tasks",
            "escaped_per_100_ai_commits",
            "escaped_per_100_human_commits",
            "found_by_production_share",
            "severe_share",
        )
    },
    ("agent_permissions", "share_under_no_approval"): "rise",
    ("agent_permissions", "agents_with_broad_scope"): "rise",
    ("agent_permissions", "agents_with_secrets"): "rise",
    ("agent_permissions", "agents_with_production_deploy"): "rise",
}
# (time allocation and capital share: neutral, like the AI share: a shift towards AI is what
# they measure, not a warning)


def concern(indicator: str, metric: str) -> str | None:
    """ "rise" or "fall": the direction of ``metric`` that is a concern; None: neutral."""
    return CONCERN.get((info_for(indicator).key, metric))


#: units of metrics that are neither shares (%) nor durations (their unit is in their name)
UNITS = {
    "ai_tool_spend_per_active_researcher": "USD per active researcher",
    "ai_directed_minutes_per_researcher": "per researcher",
    "reviews_per_ai_task": "reviews per AI task",
    "review_minutes_per_ai_task": "min per AI task",
    "mean_score": "of 5",
    "geomean_multiplier": "×",
    "max_multiplier": "×",
    "trend_vs_previous": "×",
    "runs": "runs",
    "models": "models",
    "open_models": "models not yet public",
    "merged_lines": "lines",
    "automation_lines": "lines",
    **{
        m: f"per 100 {what}"
        for m, what in (
            ("escaped_per_100_ai_tasks", "AI tasks"),
            ("escaped_per_100_ai_tasks_person_reviewed", "person-reviewed AI tasks"),
            ("escaped_per_100_ai_tasks_rule_approved", "rule-approved AI tasks"),
            ("escaped_per_100_ai_tasks_never_asked", "never-asked AI tasks"),
            ("escaped_per_100_ai_tasks_no_decision", "AI tasks with no decision"),
            ("escaped_per_100_human_tasks", "human tasks"),
            ("subversion_per_100_ai_tasks", "AI tasks"),
            ("escaped_per_100_ai_commits", "AI commits"),
            ("escaped_per_100_human_commits", "human commits"),
        )
    },
    **{f"agents_with_{s}": "agents" for s in ("internet", "secrets", "production_deploy", "broad_scope")},
}
#: metrics that count things: shown as whole numbers
COUNTS = {
    "runs",
    "models",
    "open_models",
    "merged_lines",
    "automation_lines",
    *(f"agents_with_{s}" for s in ("internet", "secrets", "production_deploy", "broad_scope")),
}


def unit(metric: str) -> str:
    """The unit a bare number of ``metric`` is shown with ("" for shares, durations and days)."""
    return UNITS.get(metric, "")


_NUMBERED = re.compile(r"^(.*?)(\d+)(h|d)?$")  # share_over_8h: base "share_over_", number 8


def metric_order(metrics: list[str]) -> list[str]:
    """Metrics in reading order: numbered buckets by their number (1 h, 8 h, 40 h, not 1 h, 40 h,
    8 h as names sort), each group where its first member was, the rest as given."""

    def base(metric: str) -> str:
        found = _NUMBERED.match(metric)
        return found.group(1) if found else metric

    def number(metric: str) -> int:
        found = _NUMBERED.match(metric)
        return int(found.group(2)) if found else 0

    out: list[str] = []
    for metric in metrics:
        if base(metric) not in {base(m) for m in out}:
            out.extend(sorted((m for m in metrics if base(m) == base(metric)), key=number))
    return out
