"""`autoscope emit` and `autoscope run` as a shell script or CI job uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import StubCollector, free_port


def cli(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoscope.cli", *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def env(collector: StubCollector) -> dict[str, str]:
    return {
        **os.environ,
        "AUTOSCOPE_COLLECTOR_URL": collector.url,
        "AUTOSCOPE_TEAM": "infra",
        "AUTOSCOPE_ACTOR": "ci@lab.example",
        "AUTOSCOPE_TOOL": "ci",
    }


@pytest.mark.parametrize("transport", ["otlp", "native"])
def test_emit_types_values_and_answers(collector: StubCollector, env: dict[str, str], transport: str) -> None:
    out = cli(
        "emit",
        "task",
        "--category",
        "analysis",
        "--human-minutes",
        "30",
        "--duration-s=12.5",
        "--executor",
        "mixed",
        "--outcome",
        "failure",
        "--task-id",
        "T-1",
        "--transport",
        transport,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    out2 = cli(
        "emit",
        "impression",
        "--question-id",
        "q1",
        "--score",
        "4",
        "--tags",
        "a,b",
        "--tags",
        "c",
        env={**env, "AUTOSCOPE_TRANSPORT": transport},
    )
    assert out2.returncode == 0, out2.stderr
    by_type = {e["type"]: e for e in collector.accepted}
    task = by_type["task"]
    assert task["event_id"] == out.stdout.strip()
    assert (task["human_minutes"], task["duration_s"], task["executor"], task["outcome"]) == (
        30,
        12.5,
        "mixed",
        "failure",
    )
    assert (task["team"], task["actor"], task["source"]["tool"]) == ("infra", "ci@lab.example", "ci")
    assert by_type["impression"]["tags"] == ["a", "b", "c"] and by_type["impression"]["score"] == 4
    assert collector.requests[0]["path"] == {"otlp": "/v1/logs", "native": "/v1/events"}[transport]


def test_emit_json_and_stdin(collector: StubCollector, env: dict[str, str]) -> None:
    event = {
        "type": "spend",
        "category": "ai_tools",
        "amount_usd": 3.5,
        "model": "claude-x",
        "input_tokens": 100,
        "occurred_at": "2026-02-01T00:00:00Z",
    }
    assert cli("emit", "--json", json.dumps(event), env=env).returncode == 0
    assert cli("emit", "spend", "--json", "-", env=env, stdin=json.dumps(event)).returncode == 0
    spends = collector.accepted
    assert len(spends) == 2 and all(e["amount_usd"] == 3.5 and e["input_tokens"] == 100 for e in spends)
    assert spends[0]["occurred_at"] == "2026-02-01T00:00:00+00:00"


def test_emit_errors_name_the_field(collector: StubCollector, env: dict[str, str]) -> None:
    bad_value = cli("emit", "review", "--task-id", "t", "--action", "approvd", "--minutes", "2", env=env)
    assert bad_value.returncode == 2 and "action" in bad_value.stderr
    unknown = cli(
        "emit", "review", "--task-id", "t", "--action", "approved", "--minutes", "2", "--colour", "red", env=env
    )
    assert unknown.returncode == 2 and "colour" in unknown.stderr
    missing = cli("emit", "review", "--task-id", "t", "--action", "approved", env=env)
    assert missing.returncode == 2 and "--minutes" in missing.stderr
    not_number = cli("emit", "review", "--task-id", "t", "--action", "approved", "--minutes", "x", env=env)
    assert not_number.returncode == 2 and "minutes" in not_number.stderr
    rejected = cli("emit", "review", "--task-id", "has space", "--action", "approved", "--minutes", "2", env=env)
    assert rejected.returncode == 1 and "task_id" in rejected.stderr  # the collector's answer
    assert collector.accepted == []


def test_emit_spools_when_the_collector_is_down_then_a_later_command_sends_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    down = {**env, "AUTOSCOPE_COLLECTOR_URL": f"http://127.0.0.1:{port}"}
    out = cli("emit", "review", "--task-id", "t", "--action", "approved", "--minutes", "2", env=down)
    assert out.returncode == 0 and "spooled" in out.stderr
    assert len(list((tmp_path / "spool").rglob("seg-*.jsonl"))) == 1
    collector = StubCollector(port)
    collector.start()
    try:
        later = cli("emit", "review", "--task-id", "t2", "--action", "approved", "--minutes", "1", env=down)
        assert later.returncode == 0
        assert sorted(e["task_id"] for e in collector.accepted) == ["t", "t2"]
        assert list((tmp_path / "spool").rglob("seg-*")) == []
    finally:
        collector.stop()


@pytest.mark.parametrize("transport", ["otlp", "native"])
def test_emit_without_a_token_keeps_the_event_and_a_command_with_one_sends_it(
    collector: StubCollector, env: dict[str, str], tmp_path: Path, transport: str
) -> None:
    collector.required_token = "tok"
    out = cli(
        "emit", "review", "--task-id", "t", "--action", "approved", "--minutes", "2", "--transport", transport, env=env
    )
    assert out.returncode == 1 and "AUTOSCOPE_TOKEN" in out.stderr and "kept in the spool" in out.stderr
    assert '"task_id":"t"' in "".join(p.read_text() for p in (tmp_path / "spool").rglob("seg-*.jsonl"))
    later = cli(
        "emit",
        "review",
        "--task-id",
        "t2",
        "--action",
        "approved",
        "--minutes",
        "1",
        "--transport",
        transport,
        env={**env, "AUTOSCOPE_TOKEN": "tok"},
    )
    assert later.returncode == 0, later.stderr
    assert sorted(e["task_id"] for e in collector.accepted) == ["t", "t2"]
    assert list((tmp_path / "spool").rglob("seg-*")) == []


def test_run_passes_the_exit_code_and_records_success_and_failure(
    collector: StubCollector, env: dict[str, str]
) -> None:
    ok = cli(
        "run",
        "--designed-by",
        "human",
        "--accelerators",
        "4",
        "--accelerator-type",
        "a100",
        "--purpose",
        "baseline",
        "--",
        sys.executable,
        "-c",
        "print('hello from the run')",
        env=env,
    )
    assert ok.returncode == 0 and ok.stdout == "hello from the run\n"  # output untouched
    failed = cli(
        "run",
        "--designed-by",
        "ai",
        "--accelerators",
        "2",
        "--accelerator-type",
        "h100",
        "--human-minutes",
        "120",
        "--",
        sys.executable,
        "-c",
        "import sys; sys.exit(7)",
        env=env,
    )
    assert failed.returncode == 7
    killed = cli(
        "run",
        "--designed-by",
        "ai",
        "--accelerators",
        "1",
        "--accelerator-type",
        "h100",
        "--",
        sys.executable,
        "-c",
        "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
        env=env,
    )
    assert killed.returncode == 128 + 15
    missing = cli(
        "run",
        "--designed-by",
        "ai",
        "--accelerators",
        "1",
        "--accelerator-type",
        "h100",
        "--",
        "/nonexistent/cmd",
        env=env,
    )
    assert missing.returncode == 127
    experiments = [e for e in collector.accepted if e["type"] == "experiment"]
    assert [(e["designed_by"], e["purpose"]) for e in experiments] == [
        ("human", "baseline"),
        ("ai", "run:failed"),
        ("ai", "run:failed"),
    ]
    assert all(0 < e["accelerator_hours"] < 60 / 3600 * 4 for e in experiments)
    (task,) = [e for e in collector.accepted if e["type"] == "task"]
    assert (task["task_id"], task["outcome"], task["category"], task["executor"]) == (
        experiments[1]["experiment_id"],
        "failure",
        "experiment_run",
        "ai",
    )
