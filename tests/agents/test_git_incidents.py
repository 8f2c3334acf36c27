"""``autoscope git scan`` reports what git shows by itself of escaped errors: a revert, and a
``Fixes:`` reference, of an earlier commit of the repository, as incidents naming that commit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from autoscope.agents import git_hooks
from autoscope.agents.git_commits import Commit
from autoscope.agents.git_incidents import references

from .test_git import git_env, scan

pytestmark = pytest.mark.skipif(__import__("shutil").which("git") is None, reason="needs git")


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True, env=git_env(tmp_path))
    return path


def commit_file(repo: Path, env: dict[str, str], name: str, message: str) -> str:
    (repo / f"{name}.txt").write_text(f"{name}\n")
    subprocess.run(["git", "add", f"{name}.txt"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, check=True, env=env)
    return head(repo)


def head(repo: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()


def revert(repo: Path, env: dict[str, str], sha: str) -> str:
    subprocess.run(["git", "revert", "--no-edit", sha], cwd=repo, check=True, env=env, capture_output=True)
    return head(repo)


def incidents_of(repo: Path, env: dict[str, str]) -> dict[str, dict]:
    out = scan(repo, env, "--dry-run")
    assert out.returncode == 0, out.stderr
    return {e["introduced_by_commit"]: e for e in map(json.loads, out.stdout.splitlines()) if "incident_id" in e}


def test_reverts_and_fixes_of_commits_in_the_repo_are_incidents(git_repo: Path, tmp_path: Path) -> None:
    env, repo = git_env(tmp_path), git_repo
    ai = commit_file(repo, env, "loader", "Loader\n\nCo-authored-by: Claude <noreply@anthropic.com>")
    human = commit_file(repo, env, "parser", "Parser")
    relanded = commit_file(repo, env, "cache", "Cache")
    reverted = revert(repo, env, ai)
    fix = commit_file(repo, env, "parser-fix", f'Parser: handle empty input\n\nFixes: {human[:12]} ("Parser")')
    commit_file(repo, env, "noise", "Fixes #12, and Fixes deadbeef12 which is no commit here")
    first_revert = revert(repo, env, relanded)
    revert(repo, env, first_revert)  # a revert of the revert re-lands the work: no error of it

    found = incidents_of(repo, env)
    assert set(found) == {ai, human, relanded}
    assert (found[ai]["kind"], found[ai]["severity"], found[ai]["found_by"]) == ("revert", "medium", None)
    assert (found[human]["kind"], found[human]["severity"]) == ("defect", "low")
    assert found[ai]["occurred_at"] and found[ai]["source"]["tool"] == "git"
    assert found[ai]["actor"] == "ada@lab.example"
    assert found[ai]["incident_id"] == f"git:revert:{reverted[:12]}:{ai[:12]}"
    assert found[human]["incident_id"].startswith(f"git:defect:{fix[:12]}")
    again = incidents_of(repo, env)
    assert {k: v["event_id"] for k, v in again.items()} == {k: v["event_id"] for k, v in found.items()}
    ids = [v["event_id"] for v in found.values()] + [git_hooks.event_id_of(s) for s in (ai, human, relanded)]
    assert len(set(ids)) == len(ids)  # an incident's id is never a commit's


def test_references_read_git_revert_lines_trailers_and_mentions() -> None:
    message = 'Undo\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n\nFixes: abcdef1 ("x")'
    commit = Commit("f" * 40, "2026-01-01T00:00:00+00:00", "a", "a@b", (), [("Fixes", 'abcdef1 ("x")')], message)
    assert references(commit) == [
        ("revert", "0123456789abcdef0123456789abcdef01234567"),
        ("defect", "abcdef1"),
        ("defect", "abcdef1"),
    ]
