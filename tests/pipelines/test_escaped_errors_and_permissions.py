"""Known answers for escaped errors by oversight level and what agents may do (issue 16, items 2
and 6), each computed independently in the test over the rows it inserted."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import duckdb
import polars as pl
import pytest

from autoscope.pipelines.jobs import compute_indicators, run_indicators
from tests.pipelines.warehouse_rows import MONDAY, add_contribution, warehouse

ACTORS = [f"p{i}" for i in range(6)]
W37, W38 = "2026-W37", "2026-W38"
_ids = itertools.count()


def _insert(conn: duckdb.DuckDBPyConnection, table: str, type_: str, at: dt.datetime, actor: str, **fields) -> None:
    """One event row (and its event_ids row, as the ingester writes it), by column name."""
    n = next(_ids)
    event_id = f"oe{n}"
    conn.execute("INSERT INTO event_ids VALUES (?, ?, now()::TIMESTAMP, 'test', 0, ?)", [event_id, type_, 10**6 + n])
    row = {"event_id": event_id, "occurred_at": at, "actor": actor, "team": fields.pop("team", "t1")}
    row |= {"tool": fields.pop("tool", "tool"), "tool_version": "1", **fields}
    names = ", ".join(row)
    conn.execute(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))


def review(conn, task_id: str, *, oversight: str | None = None, reviewer_kind: str | None = None) -> None:
    _insert(
        conn,
        "reviews",
        "review",
        MONDAY,
        "reviewer",
        task_id=task_id,
        reviewer="reviewer",
        action="approved",
        minutes=3.0,
        oversight=oversight,
        reviewer_kind=reviewer_kind,
    )


def incident(conn, *, task: str | None = None, commit: str | None = None, kind: str = "defect", **extra) -> None:
    at = extra.pop("at", MONDAY + dt.timedelta(days=20))
    _insert(
        conn,
        "incidents",
        "incident",
        at,
        extra.pop("actor", "finder"),
        incident_id=extra.pop("incident_id", f"inc-{next(_ids)}"),
        kind=kind,
        severity=extra.pop("severity", "low"),
        found_by=extra.pop("found_by", None),
        introduced_by_task=task,
        introduced_by_commit=commit,
    )


def grant(conn, actor: str, scope: str, *, agent: str = "claude-code", at: dt.datetime = MONDAY, **extra) -> None:
    _insert(
        conn,
        "permissions",
        "permission",
        at,
        actor,
        agent=agent,
        scope=scope,
        action=extra.pop("action", "granted"),
        granted_by=extra.pop("granted_by", "policy"),
        oversight=extra.pop("oversight", None),
        mode=extra.pop("mode", None),
        session_id=extra.pop("session_id", None),
    )


def cell(frame: pl.DataFrame, indicator: str, metric: str, cut_value: str = "all", period: str = W37) -> dict:
    rows = frame.filter(
        (pl.col("indicator") == indicator)
        & (pl.col("metric") == metric)
        & (pl.col("cut_value") == cut_value)
        & (pl.col("period") == period)
    )
    assert rows.height == 1, (indicator, metric, cut_value, period, rows)
    return rows.row(0, named=True)


def task(conn, actor: str, executor: str, task_id: str, *, at: dt.datetime = MONDAY, tool: str = "tool") -> str:
    _insert(
        conn,
        "tasks",
        "task",
        at,
        actor,
        tool=tool,
        task_id=task_id,
        family="analysis",
        executor=executor,
        autonomy="supervised",
        category="analysis",
        role="engineer",
        rung="engineering",
        human_minutes=10.0,
        duration_s=1.0,
        outcome="success",
    )
    return task_id


def test_escaped_errors_by_oversight_per_cohort(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    # every actor: one AI task under each oversight class, two human tasks, an AI and a human commit
    classes = {"person": "person", "rule": "rule", "never": "never_asked", "none": None}
    for a in ACTORS:
        for name, mode in classes.items():
            task(conn, a, "ai", f"{a}-{name}")
            if mode is not None:
                review(conn, f"{a}-{name}", oversight=mode)
        task(conn, a, "human", f"{a}-h1")
        task(conn, a, "human", f"{a}-h2")
        task(conn, a, "mixed", f"{a}-m")  # neither AI's nor a person's alone: in no rate
    task(conn, "p0", "ai", "p0-ai-reviewed")
    review(conn, "p0-ai-reviewed", oversight="person", reviewer_kind="ai")  # an AI's review is no person's
    for a in ACTORS:
        add_contribution(conn, actor=a, first_author="ai", ai_share=1.0)
        add_contribution(conn, actor=a, first_author="human", ai_share=0.0)
    commits = dict(conn.execute("SELECT actor || '-' || first_author, contribution_id FROM contributions").fetchall())
    # the escaped errors, found weeks later (W40): (task or commit, kind, found_by, severity)
    found = MONDAY + dt.timedelta(days=21)
    escaped = [
        ("p0-person", None, "defect", "production", "high"),
        ("p0-rule", None, "defect", "test", "low"),
        ("p1-rule", None, "security", None, "critical"),
        ("p0-never", None, "defect", "person", "medium"),
        ("p1-never", None, "data", "production", "low"),
        ("p2-never", None, "defect", None, "low"),
        ("p3-never", None, "subversion", "ai", "high"),
        ("p0-ai-reviewed", None, "defect", None, "low"),
        ("p0-h1", None, "defect", None, "low"),
        (None, commits["p0-ai"], "revert", None, "medium"),
        (None, commits["p1-ai"], "revert", None, "medium"),
        (None, commits["p2-human"], "revert", None, "medium"),
    ]
    for i, (t, c, kind, finder, severity) in enumerate(escaped):
        incident(conn, task=t, commit=c, kind=kind, found_by=finder, severity=severity, incident_id=f"i{i}", at=found)
    incident(conn, task="p0-person", kind="defect", incident_id="i0", at=found + dt.timedelta(days=1))  # reported twice
    incident(conn, task="no-such-task", kind="defect")  # names no work we know: counted nowhere
    incident(conn, task="p4-person", commit=commits["p4-ai"], kind="defect")  # both: once, on the task

    frame = compute_indicators(conn)
    ai_tasks = 4 * 6 + 1
    on = {name: sum(1 for t, *_ in escaped if t and t.endswith(f"-{name}")) for name in classes}
    on["person"] += 1  # p4-person's incident that also named a commit
    expected = {
        "escaped_per_100_ai_tasks": 100 * (sum(on.values()) + 1) / ai_tasks,
        "escaped_per_100_ai_tasks_person_reviewed": 100 * on["person"] / 6,
        "escaped_per_100_ai_tasks_rule_approved": 100 * on["rule"] / 6,
        "escaped_per_100_ai_tasks_never_asked": 100 * on["never"] / 6,
        "escaped_per_100_ai_tasks_no_decision": 100 * (on["none"] + 1) / 7,
        "escaped_per_100_human_tasks": 100 * 1 / 12,
        "subversion_per_100_ai_tasks": 100 * 1 / ai_tasks,
        "escaped_per_100_ai_commits": 100 * 2 / 6,
        "escaped_per_100_human_commits": 100 * 1 / 6,
    }
    in_ai_work = [e for e in escaped if e[0] != "p0-h1" and e[1] != commits["p2-human"]]
    in_ai_work.append(("p4-person", None, "defect", None, "low"))
    for kind in ("defect", "revert", "security", "data", "subversion"):
        expected[f"kind_{kind}_share"] = sum(e[2] == kind for e in in_ai_work) / len(in_ai_work)
    for finder in ("test", "person", "ai", "production"):
        expected[f"found_by_{finder}_share"] = sum(e[3] == finder for e in in_ai_work) / len(in_ai_work)
    expected["severe_share"] = sum(e[4] in ("high", "critical") for e in in_ai_work) / len(in_ai_work)
    for metric, value in expected.items():
        got = cell(frame, "escaped_errors", metric)
        assert got["value"] == pytest.approx(value), metric
        assert (got["n_events"], got["n_actors"], got["suppressed"]) == (ai_tasks, 6, False), metric
    # placed in the week of the work, not of the finding
    assert frame.filter((pl.col("indicator") == "escaped_errors") & (pl.col("period") == "2026-W40")).is_empty()
    assert expected["escaped_per_100_ai_tasks_never_asked"] > expected["escaped_per_100_ai_tasks_person_reviewed"]


def test_a_late_incident_recomputes_the_period_of_its_work(tmp_path: Path) -> None:
    """The incremental job: an incident found in Q4 about a task of Q3 changes Q3's rate."""
    conn = warehouse(tmp_path / "w.duckdb")
    for a in ACTORS:
        task(conn, a, "ai", f"{a}-t")
    run_indicators(conn)
    incident(conn, task="p0-t", at=dt.datetime(2026, 11, 20, 9))
    run_indicators(conn)
    stored = conn.execute(
        "SELECT value FROM indicator_values WHERE indicator = 'escaped_errors' AND metric = 'escaped_per_100_ai_tasks'"
        " AND period = ? AND cut = 'lab'",
        [W37],
    ).fetchall()
    assert stored == [(pytest.approx(100 / 6),)]


def test_agent_permissions_in_force_at_each_task(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb")
    before, hour = MONDAY - dt.timedelta(days=1), dt.timedelta(hours=1)
    people = [*ACTORS, "p6"]
    for a in ACTORS:
        grant(conn, a, "repo_write", at=before)
    grant(conn, "p0", "internet", at=before, granted_by="person", mode="default", oversight="person")
    grant(conn, "p1", "internet", at=before)
    grant(conn, "p1", "internet", action="revoked", at=MONDAY, granted_by="person")  # revoked before its tasks
    grant(conn, "p2", "secrets", agent="codex", at=before)  # another agent's grant
    grant(conn, "p3", "production_deploy", at=MONDAY + 2 * hour)  # between its two tasks
    grant(conn, "p4", "shell", at=before, mode="bypassPermissions", oversight="never_asked")
    grant(conn, "p5", "internet", at=before, session_id="s1")  # one session's grant
    for a in people:
        task(conn, a, "ai", f"{a}-1", at=MONDAY + hour, tool="claude-code")
        task(conn, a, "ai", "turn-1" if a == "p5" else f"{a}-2", at=MONDAY + 3 * hour, tool="claude-code")
    # p5's second task is a turn of session s1 (the warehouse derives such tasks from agent turns)
    _insert(conn, "agent_turn_facts", "agent_turn_fact", MONDAY, "p5", session_id="s1", turn_id="turn-1", kind="prompt")
    task(conn, "p6", "human", "p6-h", tool="claude-code")  # not AI work

    frame = compute_indicators(conn)
    n = 2 * len(people)
    expected = {
        "share_under_repo_write": 12 / n,
        "share_under_internet": 3 / n,  # p0's two, p5's session task
        "share_under_shell": 2 / n,
        "share_under_secrets": 0.0,
        "share_under_production_deploy": 1 / n,
        "share_under_job_submission": 0.0,
        "share_under_no_approval": 2 / n,
        "share_without_known_grant": 2 / n,  # p6
        "agents_with_internet": 2,
        "agents_with_secrets": 0,
        "agents_with_production_deploy": 1,
        "agents_with_broad_scope": 3,
    }
    for metric, value in expected.items():
        got = cell(frame, "agent_permissions", metric)
        assert got["value"] == pytest.approx(value), metric
        assert (got["n_events"], got["n_actors"], got["suppressed"]) == (n, len(people), False), metric
