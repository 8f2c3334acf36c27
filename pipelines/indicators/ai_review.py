"""AI as reviewer (docs/indicators.md), over AI tasks (executor ``ai``) and their reviews. A
review is a reviewer's: a person's (``reviewer_kind`` person or left out, as every review before
revision 6, with ``oversight`` person or left out) or an AI's (``reviewer_kind`` ``ai``); a
review event that records a standing rule or an agent never asking is nobody's review and is
left out here (human review frequency counts those):

* ``ai_review_share``: of the reviews of the cell's AI tasks, the share an AI did;
* ``ai_reviewed_share``: of its AI tasks, the share an AI reviewed at least once;
* ``ai_only_reviewed_share``: of its AI tasks, the share that were reviewed and whose every
  review was an AI's: AI work that no person looked at although a review took place.

Placed like human review frequency: a review counts toward the period and team (and rung,
category) of the AI task it reviews; an AI task is one task_id, placed by its first attempt.
Only reviews of AI tasks are counted: an AI reviewing a person's work is not in these shares
(the question is oversight of AI work; docs/indicators.md says what that leaves out). Git
history does not record reviews, so this comes from the hooks (``review(...,
reviewer_kind="ai")``) and native or OTLP ``autoscope.review`` events only.

Family: the cells are review frequency's (the same AI tasks, cuts and actors), so its
``n_events`` is the AI-task count the ``tasks`` family shares; it is one of the indicators that
release that count (``pipelines/anonymize.py`` ``FAMILIES``, ``SHARED_COUNT``). Contributing
actors (for k): as review frequency's, the actors of the cell's AI tasks, or the people who
reviewed them when they are fewer (the AI review share tells how much of the reviewing those
people did). AI reviewers are not people and are not counted.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.pipelines.indicators.cells import PIECE, Facts, Scope, actors_of, cells, facts_for
from autoscope.pipelines.indicators.review_frequency import AI_TASKS

NAME = "ai_review"
CUTS = ("team", "rung", "category")  # of the reviewed AI task
METRICS = {
    "ai_review_share": "coalesce(sum(n_ai_reviews), 0) / nullif(coalesce(sum(n_reviews), 0), 0)",
    "ai_reviewed_share": "coalesce(sum(n_ai_reviewed), 0) / sum(n)",
    "ai_only_reviewed_share": "coalesce(sum(n_ai_only), 0) / sum(n)",
}
#: a review by a reviewer, and whether it was an AI's
_BY_AI = "r.reviewer_kind = 'ai'"
_BY_PERSON = "coalesce(r.reviewer_kind, 'person') = 'person' AND coalesce(r.oversight, 'person') = 'person'"
#: per (piece, team, rung, category) of AI tasks: the tasks and their actors; the reviews (by a
#: person or an AI) of those tasks, the AI ones, and the people who reviewed
FINE = f"""
    WITH per_task AS (
        SELECT r.task_id, count(*) AS n_reviews, count(*) FILTER (WHERE {_BY_AI}) AS n_ai_reviews
        FROM reviews r WHERE r.task_id IN (SELECT task_id FROM fx_ai_tasks) AND (({_BY_AI}) OR ({_BY_PERSON}))
        GROUP BY r.task_id
    ), tasks_fine AS (
        SELECT ts, team, rung, category, count(*) AS n, {{set}} AS actors,
               sum(p.n_reviews) AS n_reviews, sum(p.n_ai_reviews) AS n_ai_reviews,
               count(*) FILTER (WHERE p.n_ai_reviews > 0) AS n_ai_reviewed,
               count(*) FILTER (WHERE p.n_ai_reviews > 0 AND p.n_ai_reviews = p.n_reviews) AS n_ai_only
        FROM fx_ai_tasks a LEFT JOIN per_task p USING (task_id) JOIN {{actors}} ON {{actors}}.h = hash(a.actor)
        GROUP BY ALL
    ), reviewers_fine AS (
        SELECT a.ts, a.team, a.rung, a.category, count(*) AS n_person_reviews, {{set}} AS reviewers
        FROM reviews r JOIN fx_ai_tasks a USING (task_id) JOIN {{actors}} ON {{actors}}.h = hash(r.reviewer)
        WHERE {_BY_PERSON}
        GROUP BY ALL
    )
    SELECT * FROM tasks_fine LEFT JOIN reviewers_fine USING (ts, team, rung, category)"""
#: task actors, or the people who reviewed where the cell has a person's review and they are fewer
N_ACTORS = f"""CASE WHEN sum(n_person_reviews) > 0 THEN least({actors_of()}, {actors_of("reviewers")})
    ELSE {actors_of()} END"""


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    with facts_for(conn, scope) as facts:
        facts.table(
            "fx_ai_tasks", f"SELECT {PIECE.format(col='occurred_at')} AS ts, * EXCLUDE (occurred_at) FROM ({AI_TASKS})"
        )
        return cells(
            facts,
            indicator=NAME,
            scope=scope,
            source_sql=f"SELECT * FROM {facts.table('fx_ai_review', FINE)}",
            metrics=METRICS,
            cuts=CUTS,
            n_events_sql="sum(n)",
            n_actors_sql=N_ACTORS,
        )
