"""Escaped errors by oversight level (docs/indicators.md): how often errors escape into accepted
work, per unit of AI work, split by the oversight the work was done under, beside the same rate
for human work. GovAI, "Measuring AI R&D Automation" (2026): how often AI-introduced errors
escape human review, and AI subversion incidents.

An *escaped error* is an ``incident`` (revision 6) that names the work that introduced it: a
task (``introduced_by_task``) or a commit (``introduced_by_commit``, a contribution_id; what
``autoscope git scan`` derives from reverts and ``Fixes:`` references names commits). One
incident is one ``incident_id`` (its first event, if it was reported twice); one naming both a
known task and a commit counts once, on the task. An incident that names no work we know of
counts nowhere: it has no unit of work to be a rate over.

Units of work, each counted once: an AI task (executor ``ai``, one per task_id placed by its
first attempt: the family's AI tasks, as review frequency counts them); a human task (executor
``human``; mixed and unknown ones are left out: neither AI's nor a person's alone); a commit
whose first author is AI (AI work) or a person (human work; automation left out).

* ``escaped_per_100_ai_tasks``: escaped errors introduced by AI tasks per 100 AI tasks;
* ``escaped_per_100_ai_tasks_person_reviewed`` / ``_rule_approved`` / ``_never_asked`` /
  ``_no_decision``: the same over the AI tasks under each oversight mode, as review frequency
  splits them (a person's review first, then a standing rule, then an agent that ran with
  approval off; *no decision*: none of these recorded). A review by an AI (``reviewer_kind``
  ``ai``) is not a person's oversight;
* ``escaped_per_100_human_tasks``: the same for human tasks;
* ``subversion_per_100_ai_tasks``: incidents of kind ``subversion`` (an AI acting against its
  instructions or its overseers) per 100 AI tasks, on its own;
* ``escaped_per_100_ai_commits`` / ``escaped_per_100_human_commits``: per 100 commits with an
  AI / a human first author. A commit's oversight is not known (git does not say who reviewed
  it), so commits are not split by it;
* ``kind_<kind>_share``: of the escaped errors in AI work (tasks and commits), the share of each
  kind (defect, revert, security, data, subversion);
* ``found_by_<finder>_share`` (test, person, ai, production): of the escaped errors in AI work,
  the share found that way (the rest: not said, as for git-derived ones);
* ``severe_share``: of the escaped errors in AI work, the share of severity high or critical.

Period: the period of the *work* that introduced the error, not of its finding (a cohort rate):
the numerator is then a part of the denominator, and the oversight is the one the work had. A
period's rate can therefore still rise while its errors are being found; the incremental job
recomputes the work's period when an incident about it arrives (``jobs.dirty_quarters``).

Cut: team (of the work). ``n_events``: the cell's AI tasks (the tasks family's shared count,
``anonymize.FAMILIES``). Contributing actors (for k): the people whose work is in a denominator
— the fewest of the cell's AI-task actors, human-task actors and commit authors, among those
the cell has — so that no rate describes fewer than k people's work.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.core.contract import FINDERS, INCIDENT_KINDS
from autoscope.pipelines.indicators.cells import Facts, Scope, cells

NAME = "escaped_errors"
CUTS = ("team",)
#: oversight of an AI task (the metric's suffix) → its class in :data:`UNITS_SQL`
OVERSIGHT_CLASSES = {
    "person_reviewed": "person",
    "rule_approved": "rule",
    "never_asked": "never_asked",
    "no_decision": "no_decision",
}

#: one row per unit of work with its escaped errors (see the module docstring)
UNITS_SQL = """
WITH ai AS (
    SELECT task_id, min(occurred_at) AS occurred_at, arg_min(team, occurred_at) AS team,
           arg_min(actor, occurred_at) AS actor
    FROM tasks WHERE executor = 'ai' GROUP BY task_id
), human AS (
    SELECT task_id, min(occurred_at) AS occurred_at, arg_min(team, occurred_at) AS team,
           arg_min(actor, occurred_at) AS actor
    FROM tasks WHERE executor = 'human' AND task_id NOT IN (SELECT task_id FROM ai) GROUP BY task_id
), oversight AS (
    SELECT task_id,
           bool_or(coalesce(oversight, 'person') = 'person' AND coalesce(reviewer_kind, 'person') = 'person')
               AS by_person,
           bool_or(oversight = 'rule') AS by_rule, bool_or(oversight = 'never_asked') AS never_asked
    FROM reviews GROUP BY task_id
), commits AS (
    SELECT contribution_id, min(occurred_at) AS occurred_at, arg_min(team, occurred_at) AS team,
           arg_min(actor, occurred_at) AS actor, arg_min(first_author, occurred_at) AS first_author
    FROM contributions WHERE kind = 'commit' GROUP BY contribution_id
), incident AS (  -- one row per incident_id: its first report
    SELECT * FROM incidents
    QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY occurred_at, event_id) = 1
), attributed AS (  -- on the task it names if we know that task, else on the commit it names
    SELECT i.*, CASE WHEN t.task_id IS NOT NULL THEN i.introduced_by_task END AS on_task,
           CASE WHEN t.task_id IS NULL THEN i.introduced_by_commit END AS on_commit
    FROM incident i
    LEFT JOIN (SELECT task_id FROM ai UNION ALL SELECT task_id FROM human) t ON t.task_id = i.introduced_by_task
), counted AS (
    SELECT coalesce(on_task, on_commit) AS work_id, on_task IS NOT NULL AS is_task, count(*) AS n_escaped,
           {kind_counts}, {finder_counts},
           count(*) FILTER (WHERE severity IN ('high', 'critical')) AS n_severe
    FROM attributed WHERE on_task IS NOT NULL OR on_commit IS NOT NULL GROUP BY ALL
), work AS (
    SELECT a.occurred_at, a.team, a.actor, 'ai_task' AS unit,
           CASE WHEN o.by_person THEN 'person' WHEN o.by_rule THEN 'rule'
                WHEN o.never_asked THEN 'never_asked' ELSE 'no_decision' END AS oversight,
           a.task_id AS work_id, TRUE AS is_task
    FROM ai a LEFT JOIN oversight o USING (task_id)
    UNION ALL
    SELECT occurred_at, team, actor, 'human_task', NULL, task_id, TRUE FROM human
    UNION ALL
    SELECT occurred_at, team, actor, CASE first_author WHEN 'ai' THEN 'ai_commit' ELSE 'human_commit' END, NULL,
           contribution_id, FALSE
    FROM commits WHERE first_author IN ('ai', 'human')
)
SELECT w.occurred_at AS ts, w.team, w.actor, w.unit, w.oversight,
       coalesce(c.n_escaped, 0) AS n_escaped, {kind_columns}, {finder_columns},
       coalesce(c.n_severe, 0) AS n_severe
FROM work w LEFT JOIN counted c ON c.work_id = w.work_id AND c.is_task = w.is_task
""".format(
    kind_counts=", ".join(f"count(*) FILTER (WHERE kind = '{k}') AS n_kind_{k}" for k in INCIDENT_KINDS),
    finder_counts=", ".join(f"count(*) FILTER (WHERE found_by = '{f}') AS n_found_{f}" for f in FINDERS),
    kind_columns=", ".join(f"coalesce(c.n_kind_{k}, 0) AS n_kind_{k}" for k in INCIDENT_KINDS),
    finder_columns=", ".join(f"coalesce(c.n_found_{f}, 0) AS n_found_{f}" for f in FINDERS),
)


def _per_100(where: str, numerator: str = "n_escaped") -> str:
    return f"100.0 * coalesce(sum({numerator}) FILTER (WHERE {where}), 0) / nullif(count(*) FILTER (WHERE {where}), 0)"


_AI_WORK = "unit IN ('ai_task', 'ai_commit')"


def _of_ai_escaped(numerator: str) -> str:
    return (
        f"coalesce(sum({numerator}) FILTER (WHERE {_AI_WORK}), 0) / nullif(sum(n_escaped) FILTER (WHERE {_AI_WORK}), 0)"
    )


METRICS = {
    "escaped_per_100_ai_tasks": _per_100("unit = 'ai_task'"),
    **{
        f"escaped_per_100_ai_tasks_{suffix}": _per_100(f"unit = 'ai_task' AND oversight = '{mode}'")
        for suffix, mode in OVERSIGHT_CLASSES.items()
    },
    "escaped_per_100_human_tasks": _per_100("unit = 'human_task'"),
    "subversion_per_100_ai_tasks": _per_100("unit = 'ai_task'", "n_kind_subversion"),
    "escaped_per_100_ai_commits": _per_100("unit = 'ai_commit'"),
    "escaped_per_100_human_commits": _per_100("unit = 'human_commit'"),
    **{f"kind_{k}_share": _of_ai_escaped(f"n_kind_{k}") for k in INCIDENT_KINDS},
    **{f"found_by_{f}_share": _of_ai_escaped(f"n_found_{f}") for f in FINDERS},
    "severe_share": _of_ai_escaped("n_severe"),
}

#: the fewest people among the cell's non-empty denominators (AI tasks, human tasks, commits)
N_ACTORS = """coalesce(least(
    nullif(count(DISTINCT hash(actor)) FILTER (WHERE unit = 'ai_task'), 0),
    nullif(count(DISTINCT hash(actor)) FILTER (WHERE unit = 'human_task'), 0),
    nullif(count(DISTINCT hash(actor)) FILTER (WHERE unit IN ('ai_commit', 'human_commit')), 0)), 0)"""


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    return cells(
        conn,
        indicator=NAME,
        scope=scope,
        source_sql=UNITS_SQL,
        metrics=METRICS,
        cuts=CUTS,
        n_events_sql="count(*) FILTER (WHERE unit = 'ai_task')",
        n_actors_sql=N_ACTORS,
    )
