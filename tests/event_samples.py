"""One valid example of every event type, for tests to copy and break."""

from __future__ import annotations

import copy

ENVELOPE = {
    "event_id": "0190d6a2-7a9b-7c1e-8f00-0123456789ab",
    "schema_version": 1,
    "occurred_at": "2026-11-02T10:00:00+01:00",
    "source": {"tool": "notebook", "version": "1.2"},
    "actor": "Ada@Lab.org",
    "team": "pretraining",
}
FIELDS = {
    "task": {
        "task_id": "t1",
        "executor": "ai",
        "autonomy": "supervised",
        "category": "analysis",
        "role": "engineer",
        "rung": "engineering",
        "human_minutes": 30,
        "duration_s": 12.5,
        "outcome": "success",
    },
    "review": {"task_id": "t1", "reviewer": "bob@lab.org", "action": "modified", "minutes": 4},
    "experiment": {
        "experiment_id": "e1",
        "designed_by": "ai",
        "accelerator_hours": 12.0,
        "accelerator_type": "h100",
        "purpose": "ablation",
    },
    "contribution": {"contribution_id": "c1", "kind": "commit", "first_author": "ai", "ai_share": 0.8},
    "model_deployment": {"model_id": "m1", "internal_at": "2026-10-01T00:00:00Z", "public_at": None},
    "training_milestone": {
        "run_id": "r2",
        "recipe": "llama-like",
        "target_loss": 2.1,
        "compute_to_target": 1e21,
        "baseline_run_id": "r1",
    },
    "impression": {"question_id": "q_speedup", "score": 4, "tags": ["coding"]},
    "spend": {
        "category": "ai_tools",
        "amount_usd": 12.5,
        "model": "claude-x",
        "input_tokens": 1000,
        "output_tokens": 200,
    },
    "agent_turn_fact": {
        "session_id": "s1",
        "turn_id": "p1",
        "kind": "model_call",
        "model": "claude-x",
        "duration_s": 1.5,
    },
    "incident": {
        "incident_id": "i1",
        "kind": "defect",
        "severity": "high",
        "found_by": "production",
        "introduced_by_task": "t1",
    },
    "permission": {
        "agent": "claude-code",
        "scope": "repo_write",
        "action": "granted",
        "granted_by": "person",
        "oversight": "rule",
        "mode": "acceptEdits",
    },
    "time_allocation": {"activity": "directing_ai", "minutes": 90.0, "origin": "survey"},
    "line_survival": {"contribution_id": "c1", "as_of": "2026-12-31T00:00:00Z", "lines_surviving": 40},
}


def event(type_: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {**copy.deepcopy(ENVELOPE), "type": type_, **copy.deepcopy(FIELDS[type_])}
    body.update(changes)
    return body
