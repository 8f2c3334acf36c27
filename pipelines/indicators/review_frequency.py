"""Human review frequency (docs/indicators.md), over AI tasks (executor ``ai``), split by who let the
work through (a review's ``oversight``, issue 12: a ``person`` answered; a standing ``rule`` —
an allowlist, accept-edits, a config rule — did; or the agent ran ``never_asked`` — yolo,
bypass, approval never; a review without the field is a person's, as every review was before).
A review by an AI reviewer (``reviewer_kind`` ``ai``, revision 6) is no human oversight: it
counts in none of the figures below (the AI-as-reviewer indicator, ``ai_review``, counts it):

* ``reviews_per_ai_task``: a person's reviews of the cell's AI tasks / its AI tasks;
* ``person_reviewed_share``: share of its AI tasks a person reviewed at least once;
* ``rule_approved_share``: share let through by a standing rule only (no person reviewed them);
* ``unreviewed_share``: share with neither a person's review nor a rule: no person decided
  (the rest, so the three add up to 1; work only an AI reviewed is in it). Allowlisted work is
  thus read neither as unreviewed nor as human-reviewed;
* ``never_asked_share``: of those unreviewed, the share whose agent reported running with
  approval off (the rest reported no decision at all);
* ``intervention_rate``: a person's (rejected + modified + intervened) / a person's reviews;
* ``review_minutes_per_ai_task``: a person's review minutes / AI tasks.

A review counts toward the period and team of the AI task it reviews (joined by task_id),
not toward when it happened: the question is how much of *that* work a human looked at.
An AI task is one task_id; several attempts under one task_id count once, at the first.
Contributing actors (for k): the distinct actors of the cell's AI tasks, or the distinct
reviewers of those tasks when they are fewer: the intervention rate and review minutes describe
the reviewers, and one reviewer of a whole team's AI work would otherwise have their own
rejection rate released.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import PIECE, Facts, Scope, actors_of, cells, facts_for

NAME = "review_frequency"
CUTS = ("team", "rung", "category")  # of the reviewed AI task
#: over the fine rows of AI tasks (with their reviews' counts and reviewers)
METRICS = {
    "reviews_per_ai_task": "coalesce(sum(n_reviews), 0) / sum(n)",
    "unreviewed_share": "(sum(n) - sum(n_person) - sum(n_rule)) / sum(n)",
    "person_reviewed_share": "sum(n_person) / sum(n)",
    "rule_approved_share": "sum(n_rule) / sum(n)",
    "never_asked_share": "sum(n_never) / sum(n)",
    "intervention_rate": "sum(n_interventions) / nullif(sum(n_reviews), 0)",
    "review_minutes_per_ai_task": "coalesce(sum(review_minutes), 0) / sum(n)",
}
#: a review by a person: an AI reviewer's is not (no reviewer_kind: a person, as before revision 6)
BY_PERSON = "coalesce(reviewer_kind, 'person') = 'person'"
#: AI tasks: one row per task_id, placed by its first attempt
AI_TASKS = """SELECT task_id, min(occurred_at) AS occurred_at,
           arg_min(team, occurred_at) AS team, arg_min(actor, occurred_at) AS actor,
           arg_min(rung, occurred_at) AS rung, arg_min(category, occurred_at) AS category
    FROM tasks WHERE executor = 'ai' GROUP BY task_id"""
#: per (piece, team, rung, category) of AI tasks: the tasks and their actors, and the reviews of
#: those tasks (count, interventions, minutes, tasks with any review) and their reviewers
FINE = """
    WITH task_oversight AS (
        SELECT task_id, bool_or(coalesce(oversight, 'person') = 'person' AND {person}) AS by_person,
               bool_or(oversight = 'rule') AS by_rule, bool_or(oversight = 'never_asked') AS never_asked
        FROM reviews WHERE task_id IN (SELECT task_id FROM fx_ai_tasks) GROUP BY task_id
    ), tasks_fine AS (
        SELECT ts, team, rung, category, count(*) AS n, {set} AS actors,
               count(*) FILTER (WHERE o.by_person) AS n_person,
               count(*) FILTER (WHERE o.by_rule AND NOT o.by_person) AS n_rule,
               count(*) FILTER (WHERE o.never_asked AND NOT o.by_rule AND NOT o.by_person) AS n_never
        FROM fx_ai_tasks a LEFT JOIN task_oversight o USING (task_id) JOIN {actors} ON {actors}.h = hash(a.actor)
        GROUP BY ALL
    ), reviews_fine AS (
        SELECT a.ts, a.team, a.rung, a.category, count(*) AS n_reviews,
               count(*) FILTER (WHERE r.action IN ('rejected', 'modified', 'intervened')) AS n_interventions,
               sum(r.minutes) AS review_minutes, count(DISTINCT r.task_id) AS n_reviewed, {set} AS reviewers
        FROM reviews r JOIN fx_ai_tasks a USING (task_id) JOIN {actors} ON {actors}.h = hash(r.reviewer)
        WHERE coalesce(r.oversight, 'person') = 'person' AND {person}  -- a rule, nobody or an AI is not a person
        GROUP BY ALL
    )
    SELECT * FROM tasks_fine LEFT JOIN reviews_fine USING (ts, team, rung, category)""".replace("{person}", BY_PERSON)


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        facts.table(
            "fx_ai_tasks", f"SELECT {PIECE.format(col='occurred_at')} AS ts, * EXCLUDE (occurred_at) FROM ({AI_TASKS})"
        )
        source = f"SELECT * FROM {facts.table('fx_review_frequency', FINE)}"
        return cells(
            facts,
            indicator=NAME,
            scope=scope,
            source_sql=source,
            metrics=METRICS,
            cuts=CUTS,
            n_events_sql="sum(n)",
            n_actors_sql=N_ACTORS,
        )


#: task actors, or reviewers where the cell has reviews and they are fewer
N_ACTORS = f"""CASE WHEN sum(n_reviews) > 0 THEN least({actors_of()}, {actors_of("reviewers")})
    ELSE {actors_of()} END"""
