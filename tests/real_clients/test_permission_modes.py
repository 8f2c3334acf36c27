"""The agents' own permission and approval modes, from real recordings replayed into a real
collector, broker and warehouse, become ``permission`` grants of the session (docs/otlp-mapping.md,
"Permission modes"), and the session's tasks are done under them (``agent_permissions``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.pipelines.indicators import agent_permissions
from autoscope.pipelines.indicators.cells import Scope
from autoscope.service import Service, ServiceSettings
from tests.real_clients.collector_replay import replay
from tests.real_clients.test_replay import settled

pytestmark = pytest.mark.integration

#: recording → its session's grants: (scope, oversight, mode, granted_by)
GRANTS = {
    # --allowedTools Write, Edit, Bash(git …): decisions source=config (Read takes no scope); its
    # `/clear` starts a second session, whose Edit is a grant of that session
    "claude-code-allowed-http-protobuf": {
        ("repo_write", "rule", "config", "policy"),
        ("shell", "rule", "config", "policy"),
    },
    # --dangerously-skip-permissions: reported as config too (Claude Code cannot tell them apart)
    "claude-code-bypass-http-protobuf": {
        ("repo_write", "rule", "config", "policy"),
        ("shell", "rule", "config", "policy"),
    },
    # approval_policy = never, sandbox_mode = danger-full-access
    "codex-never-http-protobuf": {
        ("shell", "never_asked", "never/danger-full-access", "policy"),
        ("repo_write", "never_asked", "never/danger-full-access", "policy"),
        ("internet", "never_asked", "never/danger-full-access", "policy"),
    },
    # approval_policy = on-request, sandbox_mode = read-only: every write is asked; the TUI's
    # helper conversation (its escalation reviewer) runs under approval never, read-only
    "codex-interactive-http-protobuf": {
        ("shell", "person", "on-request/read-only", "policy"),
        ("repo_write", "person", "on-request/read-only", "policy"),
        ("shell", "never_asked", "never/read-only", "policy"),
    },
    "gemini-cli-yolo-http-json": {
        ("repo_write", "never_asked", "yolo", "policy"),
        ("shell", "never_asked", "yolo", "policy"),
    },
    "gemini-cli-autoedit-http-json": {
        ("repo_write", "rule", "autoEdit", "policy"),
        ("shell", "person", "autoEdit", "policy"),
    },
}


@pytest.mark.parametrize("recording", list(GRANTS))
def test_a_sessions_mode_becomes_its_grants(recording: str, kafka: KafkaSettings, tmp_path: Path) -> None:
    with Service(ServiceSettings(data_dir=tmp_path, port=0, grpc_port=0, kafka=kafka, otlp=OtlpSettings())) as service:
        replay(service, recording)
        settled(service)
        cursor = service.cursor()
        try:
            grants = cursor.execute(
                "SELECT scope, oversight, mode, granted_by, action, agent, session_id FROM permissions"
            ).fetchall()
            sessions = {r[0] for r in cursor.execute("SELECT DISTINCT session_id FROM agent_turn_facts").fetchall()}
            tools = {r[0] for r in cursor.execute("SELECT DISTINCT tool FROM tasks").fetchall()}
            frame = agent_permissions.compute(cursor, Scope(("week",)))
        finally:
            cursor.close()
    assert {g[:4] for g in grants} == GRANTS[recording]
    assert len(grants) == len({(g[6], g[0]) for g in grants}), "each grant of a session once"
    assert {g[4] for g in grants} == {"granted"}
    assert {g[6] for g in grants} <= sessions, "a grant names the session its turns are facts of"
    assert {g[5] for g in grants} <= tools, "the agent is the tool its tasks are stored under"
    lab = {r["metric"]: r["value"] for r in frame.filter(frame["cut"] == "lab").iter_rows(named=True)}
    for scope, *_ in GRANTS[recording]:
        assert lab[f"share_under_{scope}"] > 0, scope
    never_asked = any(oversight == "never_asked" for _, oversight, *_ in GRANTS[recording])
    assert (lab["share_under_no_approval"] > 0) == never_asked
