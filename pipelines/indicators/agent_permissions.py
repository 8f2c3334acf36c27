"""What agents may do (docs/indicators.md): the share of AI work done under each permission
scope, and how many agents did work holding the broader scopes. GovAI, "Measuring AI R&D
Automation" (2026): the extent of automation and its effect on oversight; engineering-analytics
products' approval modes.

A ``permission`` event (revision 6) grants or revokes one scope (repo_write, shell,
job_submission, internet, secrets, production_deploy) to an agent acting for its ``actor``, by
a person or a policy, for good or for one agent session (``session_id``). The collector maps
the agents' own modes onto them (docs/otlp-mapping.md, "Permission modes").

An AI task (executor ``ai``, one per task_id placed by its first attempt: the family's AI
tasks) is done *under* a scope when a grant of it to the task's own agent (the grant's ``agent``
is the task's ``tool``) for the task's actor is in force for the task: a standing grant (no
session) made at or before the task's start and not revoked since (the latest event for that
actor, agent and scope decides; on a tie, the revocation), or a grant of the task's own session,
which holds for the whole session (the latest event of that session decides), because agents
report a session's mode when it starts or, like Claude Code, only through the decisions taken
during its turns. A task derived from an agent's turn knows its session; a native task has none,
so only standing grants apply to it.

* ``share_under_<scope>``: the share of the cell's AI tasks done under that scope;
* ``share_under_no_approval``: done under a grant whose agent does not ask a person
  (``oversight`` never_asked: bypass, yolo, approval ``never``);
* ``share_without_known_grant``: done under no grant we know of (the agent's permissions were
  not reported, which is not the same as having none);
* ``agents_with_<scope>`` for internet, secrets, production_deploy, and
  ``agents_with_broad_scope`` (any of the three): the distinct agents (actor × agent pairs: a
  person's Claude Code is one agent, their Codex another) that did at least one AI task in the
  cell while holding the scope. An agent that held a scope but did no work in the period is not
  counted: a session grant says when it started, never when it ended, so only work shows when a
  scope was in use.

Cut: team (of the task). ``n_events``: the cell's AI tasks (the tasks family's shared count,
``anonymize.FAMILIES``). Contributing actors (for k): the people behind the AI tasks, so the
count of agents is a count of people's agents and is released only where k people stand
behind it.
"""

from __future__ import annotations

import duckdb
import polars as pl

from autoscope.core.contract import PERMISSION_SCOPES
from autoscope.pipelines.indicators.cells import Facts, Scope, cells

NAME = "agent_permissions"
CUTS = ("team",)
BROAD_SCOPES = ("internet", "secrets", "production_deploy")

#: one row per AI task with the scopes in force at its start (module docstring)
TASKS_SQL = """
WITH ai AS (
    SELECT task_id, min(occurred_at) AS occurred_at, arg_min(team, occurred_at) AS team,
           arg_min(actor, occurred_at) AS actor, arg_min(tool, occurred_at) AS tool
    FROM tasks WHERE executor = 'ai' GROUP BY task_id
), session AS (
    SELECT turn_id AS task_id, any_value(session_id) AS session_id
    FROM agent_turn_facts WHERE turn_id IS NOT NULL GROUP BY turn_id
), latest AS (  -- per task, the latest event of each (scope, session) grant that could apply
    SELECT a.task_id, p.scope, p.action, p.oversight
    FROM ai a LEFT JOIN session s USING (task_id)
    JOIN permissions p ON p.actor = a.actor AND p.agent = a.tool
         AND (p.session_id IS NULL AND p.occurred_at <= a.occurred_at OR p.session_id = s.session_id)
    QUALIFY row_number() OVER (
        PARTITION BY a.task_id, p.scope, p.session_id
        ORDER BY p.occurred_at DESC, p.action = 'revoked' DESC, p.event_id) = 1
), held AS (
    SELECT task_id, {scope_flags},
           bool_or(oversight = 'never_asked') AS no_approval
    FROM latest WHERE action = 'granted' GROUP BY task_id
)
SELECT a.occurred_at AS ts, a.team, a.actor, a.tool, h.task_id IS NOT NULL AS any_grant,
       {scope_columns}, coalesce(h.no_approval, FALSE) AS no_approval
FROM ai a LEFT JOIN held h USING (task_id)
""".format(
    scope_flags=", ".join(f"bool_or(scope = '{s}') AS s_{s}" for s in PERMISSION_SCOPES),
    scope_columns=", ".join(f"coalesce(h.s_{s}, FALSE) AS s_{s}" for s in PERMISSION_SCOPES),
)


def _agents(condition: str) -> str:
    return f"count(DISTINCT hash(actor, tool)) FILTER (WHERE {condition})"


METRICS = {
    **{f"share_under_{s}": f"count(*) FILTER (WHERE s_{s}) / count(*)" for s in PERMISSION_SCOPES},
    "share_under_no_approval": "count(*) FILTER (WHERE no_approval) / count(*)",
    "share_without_known_grant": "count(*) FILTER (WHERE NOT any_grant) / count(*)",
    **{f"agents_with_{s}": _agents(f"s_{s}") for s in BROAD_SCOPES},
    "agents_with_broad_scope": _agents(" OR ".join(f"s_{s}" for s in BROAD_SCOPES)),
}


def compute(conn: duckdb.DuckDBPyConnection | Facts, scope: Scope) -> pl.DataFrame:
    return cells(
        conn,
        indicator=NAME,
        scope=scope,
        source_sql=TASKS_SQL,
        metrics=METRICS,
        cuts=CUTS,
        n_events_sql="count(*)",
    )
