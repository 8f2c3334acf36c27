"""Human review frequency (DESIGN.md), over AI tasks (executor ``ai``):

* ``reviews_per_ai_task``: reviews of the cell's AI tasks / its AI tasks;
* ``unreviewed_share``: share of its AI tasks with no review at all;
* ``intervention_rate``: (rejected + modified + intervened) / reviews;
* ``review_minutes_per_ai_task``: review minutes / AI tasks.

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

from autoscope.pipelines.indicators.cells import Scope, cells

NAME = "review_frequency"
CUTS = ("team", "rung", "category")  # of the reviewed AI task
METRICS = {
    "reviews_per_ai_task": "sum(coalesce(n_reviews, 0)) / count(*)",
    "unreviewed_share": "avg(CASE WHEN n_reviews IS NULL THEN 1 ELSE 0 END)",
    "intervention_rate": "sum(n_interventions) / nullif(sum(n_reviews), 0)",
    "review_minutes_per_ai_task": "sum(coalesce(review_minutes, 0)) / count(*)",
}


def compute(conn: duckdb.DuckDBPyConnection, scope: Scope) -> pl.DataFrame:
    source = """
        WITH ai_tasks AS (
            SELECT task_id, min(occurred_at) AS occurred_at,
                   arg_min(team, occurred_at) AS team, arg_min(actor, occurred_at) AS actor,
                   arg_min(rung, occurred_at) AS rung, arg_min(category, occurred_at) AS category
            FROM tasks WHERE executor = 'ai' GROUP BY task_id
        ), per_task AS (
            SELECT task_id, count(*) AS n_reviews,
                   count(*) FILTER (WHERE action IN ('rejected', 'modified', 'intervened')) AS n_interventions,
                   sum(minutes) AS review_minutes, list(DISTINCT hash(reviewer)) AS reviewers
            FROM reviews GROUP BY task_id
        )
        SELECT a.occurred_at AS ts, a.actor, a.team, a.rung, a.category,
               r.n_reviews, r.n_interventions, r.review_minutes, r.reviewers
        FROM ai_tasks a LEFT JOIN per_task r USING (task_id)"""
    return cells(conn, indicator=NAME, scope=scope, source_sql=source, metrics=METRICS, cuts=CUTS,
                 n_actors_sql=N_ACTORS)


#: task actors, or reviewers where the cell has reviews and they are fewer
N_ACTORS = """CASE WHEN sum(n_reviews) > 0
    THEN least(count(DISTINCT hash(actor)),
               len(list_distinct(flatten(list(reviewers) FILTER (WHERE reviewers IS NOT NULL)))))
    ELSE count(DISTINCT hash(actor)) END"""
