"""Coding agents' prompt turns → AI tasks, kept in step by the ingester.

Claude Code, Gemini CLI and Codex CLI report a turn as many records (the prompt, then each model
and tool call when it ends) that arrive over many exports and collectors, in any order. The
collector maps each to an ``agent_turn_fact``; the view ``agent_turns`` (migration 009) assembles
the turns from every fact stored, through the table macro ``agent_turns_in(sessions)`` that this
module calls for the sessions of a batch only. This module writes one AI ``task`` per turn that made a model
call into ``tasks``, where every indicator already reads tasks, and rewrites it whenever a later
fact of the same session arrives: in the same transaction as those facts, so a crash or a replay
never leaves a turn half-derived and the ingester's exactly-once guarantee carries over.

A derived task's ``event_id`` is ``turn:<turn_id>`` (it is not an event of its own: nothing in
``event_ids``) and its ``task_id`` is the turn id, which a turn's reviews name too. A client's
native ``task`` events have ids of their own, so a turn is never counted twice. Slash commands
and prompts that made no model call are turns (in the view) but not tasks.
"""

from __future__ import annotations

import duckdb

#: the derived task's columns from the view's row (tasks' other columns: see the INSERT)
_TASK_FROM_TURN = """
    SELECT 'turn:' || turn_id AS event_id, started_at AS occurred_at, actor, team, tool, tool_version,
           turn_id AS task_id, coalesce(category, 'experiment_run') AS family, 'ai' AS executor,
           coalesce(autonomy, 'supervised') AS autonomy, coalesce(category, 'experiment_run') AS category,
           coalesce(role, 'engineer') AS role, coalesce(rung, 'engineering') AS rung,
           coalesce(human_minutes, 15.0) AS human_minutes, wall_s AS duration_s, 'success' AS outcome,
           model, coalesce(size_source, 'default') AS size_source
    FROM agent_turns_in(?)
    WHERE NOT slash_command AND model_calls > 0"""


def refresh_turn_tasks(conn: duckdb.DuckDBPyConnection, view: str) -> int:
    """Re-derive the tasks of every session that has a fact among the events in ``view`` (a
    registered table of the batch's event ids, column ``event_id``); returns the tasks written.
    Call inside the batch's transaction, after the facts are inserted."""
    sessions = [
        row[0]
        for row in conn.execute(
            f"SELECT DISTINCT session_id FROM agent_turn_facts WHERE event_id IN (SELECT event_id FROM {view})"
        ).fetchall()
    ]
    if not sessions:
        return 0
    conn.execute(
        "DELETE FROM tasks WHERE event_id IN (SELECT 'turn:' || turn_id FROM agent_turn_facts"
        " WHERE list_contains(?, session_id) AND turn_id IS NOT NULL)",
        [sessions],
    )
    written = conn.execute(f"INSERT INTO tasks BY NAME {_TASK_FROM_TURN}", [sessions]).fetchall()[0][0]
    return int(written)
