"""Git integration on real repositories made here with real `git` commits and trailers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoscope.agents import git_hooks

from .conftest import StubCollector

# shutil.which, not `git --version`: collecting the tests runs no subprocess
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@lab.example",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@lab.example",
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",
        **extra,
    }


def commit(
    repo: Path, env: dict[str, str], message: str, date: str = "2026-03-02T10:00:00+00:00", **author: str
) -> str:
    (repo / "file.txt").write_text(f"{message}\n{time.time_ns()}\n")
    subprocess.run(["git", "add", "file.txt"], cwd=repo, check=True, env=env)
    env = {**env, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, **author}
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, check=True, env=env)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True, env=git_env(tmp_path))
    return path


def scan(path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoscope.cli", "git", "scan", str(path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_trailers_decide_authorship(repo: Path, tmp_path: Path) -> None:
    env = git_env(tmp_path)
    shas = {
        "plain": commit(repo, env, "Plain human work", "2025-12-01T10:00:00+00:00"),
        "claude": commit(repo, env, "Fix loader\n\nCo-authored-by: Claude <noreply@anthropic.com>"),
        "copilot": commit(repo, env, "Tests\n\nCo-Authored-By: Copilot <198982749+Copilot@users.noreply.github.com>"),
        "human_pair": commit(repo, env, "Pairing\n\nCo-authored-by: Bob <bob@lab.example>"),
        "generated": commit(repo, env, "Refactor\n\nGenerated-by: some-internal-tool 2.1"),
        "assisted": commit(repo, env, "Docs\n\nAssisted-by: Gemini:gemini-2.5-pro"),
        "agent_author": commit(
            repo, env, "Bump deps", GIT_AUTHOR_NAME="codex-agent[bot]", GIT_AUTHOR_EMAIL="codex@openai.com"
        ),
    }
    out = scan(repo, env, "--dry-run")
    assert out.returncode == 0, out.stderr
    events = {e["contribution_id"]: e for e in map(json.loads, out.stdout.splitlines())}
    got = {name: (events[sha]["first_author"], events[sha]["ai_share"]) for name, sha in shas.items()}
    assert got == {
        "plain": ("human", 0.0),
        "claude": ("ai", 0.5),
        "copilot": ("ai", 0.5),
        "human_pair": ("human", 0.0),
        "generated": ("ai", 1.0),
        "assisted": ("human", 0.25),
        "agent_author": ("ai", 1.0),
    }
    claude = events[shas["claude"]]
    assert claude["kind"] == "commit" and claude["actor"] == "ada@lab.example"
    assert claude["source"]["tool"] == "git"
    assert claude["occurred_at"] == "2026-03-02T10:00:00+00:00"
    assert claude["event_id"] == git_hooks.event_id_of(shas["claude"])
    since = scan(repo, env, "--dry-run", "--since", "2026-01-01")
    assert len(since.stdout.splitlines()) == 6  # the December commit is left out


def test_rules_are_configurable(repo: Path, tmp_path: Path) -> None:
    config = tmp_path / "autoscope.toml"
    config.write_text('[git]\nextra_ai_agents = ["labbot"]\ncoauthor_first_author = "human"\ncoauthored_share = 0.3\n')
    env = git_env(tmp_path, AUTOSCOPE_CONFIG=str(config))
    ours = commit(repo, env, "x\n\nCo-authored-by: LabBot <labbot@lab.example>")
    claude = commit(repo, env, "y\n\nCo-authored-by: Claude <noreply@anthropic.com>")
    events = {e["contribution_id"]: e for e in map(json.loads, scan(repo, env, "--dry-run").stdout.splitlines())}
    assert (events[ours]["first_author"], events[ours]["ai_share"]) == ("human", 0.3)
    assert (events[claude]["first_author"], events[claude]["ai_share"]) == ("human", 0.3)


def test_rescan_is_deduplicated_by_event_id(repo: Path, tmp_path: Path, collector: StubCollector) -> None:
    env = git_env(tmp_path, AUTOSCOPE_COLLECTOR_URL=collector.url)
    shas = [commit(repo, env, f"c{i}\n\nCo-authored-by: Claude <noreply@anthropic.com>") for i in range(3)]
    first, second = scan(repo, env), scan(repo, env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "3 commits (3 with AI first author)" in first.stdout
    ids = collector.accepted_ids()
    assert len(ids) == 6 and len(set(ids)) == 3  # sent twice, one event_id per commit
    assert set(ids) == {git_hooks.event_id_of(s) for s in shas}


def test_install_hook_chains_an_existing_hook_and_reports_commits(
    repo: Path, tmp_path: Path, collector: StubCollector
) -> None:
    env = git_env(tmp_path, AUTOSCOPE_COLLECTOR_URL=collector.url, AUTOSCOPE_TEAM="infra")
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    marker = tmp_path / "earlier-hook-ran"
    (hooks / "post-commit").write_text(f"#!/bin/sh\necho ran >> {marker}\nexit 3\n")
    (hooks / "post-commit").chmod(0o755)
    out = subprocess.run(
        [sys.executable, "-m", "autoscope.cli", "git", "install-hook", "--repo", str(repo)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0 and "runs the earlier hook" in out.stdout, out.stderr
    again = subprocess.run(
        [sys.executable, "-m", "autoscope.cli", "git", "install-hook", "--repo", str(repo)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert again.returncode == 0  # idempotent: the chained hook is not replaced by ours
    assert "echo ran" in (hooks / git_hooks.CHAINED).read_text()
    sha = commit(repo, env, "Add\n\nGenerated-by: Claude Code")
    assert marker.read_text() == "ran\n"  # the earlier hook still runs, once
    assert collector.wait_for(1, timeout_s=20)
    (event,) = collector.accepted
    assert event["contribution_id"] == sha and event["first_author"] == "ai"
    assert event["event_id"] == git_hooks.event_id_of(sha) and event["team"] == "infra"
