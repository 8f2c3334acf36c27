"""The hooks against the real collector (OTLP receiver and native), checked in the warehouse:
every hook, the shell and git commands, and the collector being down then coming back."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoscope import agents
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.core.tokens import TokenStore
from autoscope.service import Service, ServiceSettings

from .conftest import free_port, hook_settings

pytestmark = pytest.mark.integration

TABLES = {
    "task": "tasks",
    "review": "reviews",
    "experiment": "experiments",
    "contribution": "contributions",
    "model_deployment": "model_deployments",
    "training_milestone": "training_milestones",
    "impression": "impressions",
    "spend": "spend",
}


def rows(service: Service, sql: str, *params: object) -> list[tuple]:
    cursor = service.cursor()
    try:
        return cursor.execute(sql, params).fetchall()
    finally:
        cursor.close()


def wait_in_warehouse(service: Service, event_ids: list[str], timeout_s: float = 30.0) -> dict[str, int]:
    """event_id → how many times it is in event_ids (the warehouse's unique index of events)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = dict(
            rows(
                service,
                "SELECT event_id, count(*) FROM event_ids WHERE event_id IN "
                f"({','.join('?' * len(event_ids))}) GROUP BY event_id",
                *event_ids,
            )
        )
        if len(found) == len(event_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture
def service(kafka: KafkaSettings, tmp_path: Path) -> Iterator[Service]:
    with Service(ServiceSettings(data_dir=tmp_path / "data", port=0, grpc_port=0, kafka=kafka)).start() as running:
        yield running


def emit_every_type() -> dict[str, str]:
    with agents.task("analysis", human_minutes=30, model="claude-x", rung="experiments") as t:
        pass
    ids = {
        "task": t.event_id,
        "review": agents.review(t.task_id, "modified", minutes=4),
        "experiment": agents.experiment(
            designed_by="ai", accelerator_hours=12, accelerator_type="h100", purpose="ablation", flops=1e20
        ),
        "contribution": agents.contribution("c1", kind="commit", first_author="ai", ai_share=0.8),
        "model_deployment": agents.model_deployment("m1", internal_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC)),
        "training_milestone": agents.training_milestone(
            "r2", recipe="llama-like", target_loss=2.1, compute_to_target=1e21, baseline_run_id="r1"
        ),
        "impression": agents.impression("q_speedup", score=4, tags=["coding", "review"]),
        "spend": agents.spend("ai_tools", amount_usd=12.5, model="claude-x", input_tokens=1000, output_tokens=200),
    }
    assert all(ids.values()), ids
    return ids  # type: ignore[return-value]


@pytest.mark.parametrize("transport", ["otlp", "native"])
def test_every_hook_lands_in_the_warehouse(service: Service, transport: str) -> None:
    agents.configure(**hook_settings(service.endpoint, token=None, transport=transport))
    ids = emit_every_type()
    assert agents.flush(15)
    stats = agents.stats()
    assert (stats["sent"], stats["rejected"], stats["errors"]) == (8, 0, 0), stats
    assert set(wait_in_warehouse(service, list(ids.values())).values()) == {1}
    for type_, event_id in ids.items():
        (row,) = rows(service, f"SELECT * FROM {TABLES[type_]} WHERE event_id = ?", event_id)
        assert "@" not in row[2]  # the actor arrives pseudonymized
        assert row[3:6] == ("pretraining", "test-tool", "1.0")
    (task,) = rows(
        service,
        "SELECT task_id, family, category, rung, human_minutes, outcome, model FROM tasks WHERE event_id = ?",
        ids["task"],
    )
    assert task[1:] == ("analysis", "analysis", "experiments", 30.0, "success", "claude-x")
    (review,) = rows(service, "SELECT task_id, action, minutes FROM reviews WHERE event_id = ?", ids["review"])
    assert review == (task[0], "modified", 4.0)
    assert rows(service, "SELECT tags FROM impressions WHERE event_id = ?", ids["impression"]) == [
        (["coding", "review"],)
    ]
    assert rows(
        service,
        "SELECT public_at, flops FROM model_deployments, experiments "
        "WHERE model_deployments.event_id = ? AND experiments.event_id = ?",
        ids["model_deployment"],
        ids["experiment"],
    ) == [(None, 1e20)]
    assert rows(service, "SELECT input_tokens, output_tokens FROM spend WHERE event_id = ?", ids["spend"]) == [
        (1000, 200)
    ]


def test_a_rejection_names_the_field(service: Service) -> None:
    agents.configure(**hook_settings(service.endpoint, token=None))
    assert agents.task("analysis", human_minutes=5, task_id="has space").finish()
    assert agents.flush(15)
    stats = agents.stats()
    assert (stats["sent"], stats["rejected"]) == (0, 1)
    assert "task_id" in stats["last_error"]
    assert "quarantine" in stats["last_error"]  # where the rejected event is kept


def spooled_lines(spool: Path) -> str:
    return "".join(p.read_text() for p in spool.rglob("seg-*.jsonl"))


def refused_by_tool(service: Service) -> dict[tuple[str, str], float]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{service.endpoint}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {
        (s.labels["reason"], s.labels["tool"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "autoscope_requests_refused_total"
    }


def landed_once(service: Service, ids: dict[str, str]) -> None:
    """Every event in the warehouse's index and in its type's table, exactly once."""
    found = wait_in_warehouse(service, list(ids.values()))
    assert len(found) == len(ids) and set(found.values()) == {1}, found
    for type_, event_id in ids.items():
        assert rows(service, f"SELECT count(*) FROM {TABLES[type_]} WHERE event_id = ?", event_id) == [(1,)]


@pytest.mark.parametrize("transport", ["otlp", "native"])
def test_a_tokenless_hooks_events_survive_the_401_and_land_once_a_token_is_set(
    kafka: KafkaSettings, tmp_path: Path, transport: str
) -> None:
    """The issue's case: the lab creates the export token the README suggests; from then on
    the collector wants a token, and a hook that has none is answered 401. Its events stay in
    its spool (stats: unauthorized), the collector counts the refusals by tool, and once the
    hook is given a token they are delivered and land in the warehouse exactly once."""
    data_dir = tmp_path / "data"
    tokens = TokenStore(data_dir / "tokens.json")
    tokens.create("compliance", ["export"])
    settings = ServiceSettings(data_dir=data_dir, port=0, grpc_port=0, kafka=kafka)
    with Service(settings).start() as service:
        agents.configure(**hook_settings(service.endpoint, token=None, transport=transport))
        ids = emit_every_type()
        assert agents.flush(15)
        stats = agents.stats()
        assert (stats["unauthorized"], stats["sent"], stats["rejected"], stats["dropped"]) == (8, 0, 0, 0)
        assert "AUTOSCOPE_TOKEN" in stats["last_error"] and "HTTP 401" in stats["last_error"]
        held = spooled_lines(tmp_path / "spool")
        assert all(event_id in held for event_id in ids.values())
        assert refused_by_tool(service)[("unauthorized", "test-tool")] >= 1
        assert rows(service, "SELECT count(*) FROM event_ids") == [(0,)]

        token, _ = tokens.create("test-tool", ["ingest"])
        agents.configure(**hook_settings(service.endpoint, token=token, transport=transport))
        assert agents.flush(15)
        assert agents.stats()["sent"] == 8
        landed_once(service, ids)
        assert spooled_lines(tmp_path / "spool") == ""


def test_a_later_process_with_a_token_delivers_what_a_tokenless_one_kept(kafka: KafkaSettings, tmp_path: Path) -> None:
    """The tokenless tool exits while refused: its events wait in the spool, and the next
    process given a token (here this one) sends them."""
    data_dir = tmp_path / "data"
    tokens = TokenStore(data_dir / "tokens.json")
    token, _ = tokens.create("test-tool", ["ingest"])
    with Service(ServiceSettings(data_dir=data_dir, port=0, grpc_port=0, kafka=kafka)).start() as service:
        script = textwrap.dedent(f"""
            from autoscope import agents
            agents.configure(collector_url="{service.endpoint}", team="t", actor="a@b", tool="child",
                             schedule_delay_s=0.05)
            print(agents.review("t-1", "approved", minutes=3))
            agents.flush(10)
            print(agents.stats()["unauthorized"])
        """)
        out = subprocess.run(
            [sys.executable, "-c", script], env=dict(os.environ), capture_output=True, text=True, timeout=60, check=True
        )
        event_id, unauthorized = out.stdout.split()
        assert unauthorized == "1" and event_id in spooled_lines(tmp_path / "spool")
        assert "AUTOSCOPE_TOKEN" in out.stderr  # the child's log said what to do
        agents.configure(**hook_settings(service.endpoint, token=token))
        assert agents.flush(15)
        landed_once(service, {"review": event_id})
        assert spooled_lines(tmp_path / "spool") == ""


@pytest.mark.parametrize("transport", ["otlp", "native"])
def test_a_team_bound_tokens_other_team_event_is_rejected_and_quarantined(
    kafka: KafkaSettings, tmp_path: Path, transport: str
) -> None:
    """Decision: a team-bound token sending another team's event is a per-event rejection
    of $.team (the token is valid; the event is not its to send): counted as rejected, kept
    in the collector's quarantine, not held in the hook's spool."""
    from autoscope.collector.sinks.quarantine import read_quarantine

    data_dir = tmp_path / "data"
    token, _ = TokenStore(data_dir / "tokens.json").create("evals-bot", ["ingest"], team="evals")
    with Service(ServiceSettings(data_dir=data_dir, port=0, grpc_port=0, kafka=kafka)).start() as service:
        agents.configure(**hook_settings(service.endpoint, token=token, transport=transport))
        ours = agents.review("t-1", "approved", minutes=2, team="evals")
        other = agents.review("t-2", "approved", minutes=2)  # the configured team, pretraining
        assert agents.flush(15)
        stats = agents.stats()
        assert (stats["sent"], stats["rejected"], stats["unauthorized"]) == (1, 1, 0), stats
        assert "$.team" in stats["last_error"] and "quarantine" in stats["last_error"]
        landed_once(service, {"review": str(ours)})
        (kept,) = list(read_quarantine(data_dir / "quarantine"))
        assert kept["field"] == "$.team" and kept["payload"]["event"]["event_id"] == other
        assert spooled_lines(tmp_path / "spool") == ""


def test_collector_down_full_speed_spool_then_lands_once(kafka: KafkaSettings, tmp_path: Path) -> None:
    port = free_port()
    agents.configure(**hook_settings(f"http://127.0.0.1:{port}", token=None, spool_after_s=0.3, max_queue_size=20_000))
    started = time.perf_counter()
    ids = [agents.task("analysis", human_minutes=5).finish() for _ in range(2000)]
    per_call_us = (time.perf_counter() - started) / 2000 * 1e6
    assert all(ids) and per_call_us < 500  # generous: never waits for the collector
    assert agents.flush(20)
    stats = agents.stats()
    assert (stats["spooled"], stats["sent"], stats["dropped"]) == (2000, 0, 0), stats
    with Service(ServiceSettings(data_dir=tmp_path / "data", port=port, grpc_port=0, kafka=kafka)).start() as service:
        deadline = time.monotonic() + 30
        while agents.stats()["sent"] < 2000 and time.monotonic() < deadline:
            agents.flush(2)
            time.sleep(0.1)
        assert agents.stats()["sent"] == 2000
        found = wait_in_warehouse(service, [str(i) for i in ids])
        assert len(found) == 2000 and set(found.values()) == {1}
        assert Counter(r[0] for r in rows(service, "SELECT count(*) FROM tasks")) == Counter([2000])
    assert list((tmp_path / "spool").rglob("seg-*")) == []


def cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoscope.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_shell_and_git_commands_land_in_the_warehouse(service: Service, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AUTOSCOPE_COLLECTOR_URL": service.endpoint,
        "AUTOSCOPE_TEAM": "infra",
        "AUTOSCOPE_ACTOR": "ci@lab.example",
    }
    emitted = cli("emit", "review", "--task-id", "t-9", "--action", "approved", "--minutes", "3", env=env)
    assert emitted.returncode == 0, emitted.stderr
    review_id = emitted.stdout.strip()
    rejected = cli("emit", "review", "--task-id", "t 9", "--action", "approved", "--minutes", "3", env=env)
    assert rejected.returncode == 1 and "task_id" in rejected.stderr
    failed = cli(
        "run",
        "--designed-by",
        "ai",
        "--accelerators",
        "8",
        "--accelerator-type",
        "h100",
        "--purpose",
        "sweep",
        "--experiment-id",
        "exp-1",
        "--human-minutes",
        "90",
        "--",
        sys.executable,
        "-c",
        "import time, sys; time.sleep(0.2); sys.exit(3)",
        env=env,
    )
    assert failed.returncode == 3, failed.stderr
    repo = tmp_path / "repo"
    repo.mkdir()
    git_env = {
        **env,
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@lab.example",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@lab.example",
    }
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=git_env)
    (repo / "a.txt").write_text("a")
    subprocess.run(["git", "add", "a.txt"], cwd=repo, check=True, env=git_env)
    subprocess.run(
        ["git", "commit", "-q", "-m", "Add a\n\nCo-authored-by: Claude <noreply@anthropic.com>"],
        cwd=repo,
        check=True,
        env=git_env,
    )
    scanned = cli("git", "scan", str(repo), env=git_env)
    assert scanned.returncode == 0, scanned.stderr
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = rows(
            service,
            "SELECT (SELECT count(*) FROM reviews WHERE event_id = ?), "
            "(SELECT count(*) FROM experiments WHERE experiment_id = 'exp-1'), "
            "(SELECT count(*) FROM tasks WHERE task_id = 'exp-1'), "
            "(SELECT count(*) FROM contributions WHERE contribution_id = ?)",
            review_id,
            sha,
        )[0]
        if got == (1, 1, 1, 1):
            break
        time.sleep(0.2)
    assert got == (1, 1, 1, 1)
    (experiment,) = rows(
        service, "SELECT designed_by, accelerator_hours, purpose FROM experiments WHERE experiment_id = 'exp-1'"
    )
    assert experiment[0] == "ai" and experiment[2] == "sweep:failed"
    assert 0.2 * 8 / 3600 <= experiment[1] < 5 * 8 / 3600
    assert rows(service, "SELECT outcome, category FROM tasks WHERE task_id = 'exp-1'") == [
        ("failure", "experiment_run")
    ]
    assert rows(service, "SELECT first_author, ai_share, team FROM contributions WHERE contribution_id = ?", sha) == [
        ("ai", 0.5, "infra")
    ]
