"""``autoscope git scan --survival`` on a repository built here, where later commits delete some
of an AI agent's lines and change one of a person's: the surviving lines at the end of the next
month and quarter are known by construction."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from autoscope.agents import git_hooks
from autoscope.agents.git_survival import end_of_next_period, survival_event_id

from .test_git import git_env, scan

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
AGENT = {"GIT_AUTHOR_NAME": "codex-agent[bot]", "GIT_AUTHOR_EMAIL": "codex@openai.com"}  # AI-authored


def write_commit(repo: Path, env: dict[str, str], date: str, files: dict[str, list[str]], **author: str) -> str:
    for name, lines in files.items():
        (repo / name).write_text("".join(f"{line}\n" for line in lines))
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    env = {**env, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, **author}
    subprocess.run(["git", "commit", "-q", "-m", f"work of {date}"], cwd=repo, check=True, env=env)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    env = git_env(tmp_path)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True, env=env)
    human = [f"h{i}" for i in range(10)]
    ai = [f"a{i}" for i in range(10)]
    shas = {
        "human_jan": write_commit(repo, env, "2026-01-10T10:00:00+00:00", {"human.txt": human}),
        "ai_jan": write_commit(repo, env, "2026-01-12T10:00:00+00:00", {"ai.txt": ai}, **AGENT),
        # a person deletes four of the agent's lines and rewrites one of their own
        "human_feb": write_commit(
            repo, env, "2026-02-15T10:00:00+00:00", {"ai.txt": ai[4:], "human.txt": ["H0", *human[1:]]}
        ),
        # two more of the agent's lines go (a commit that only deletes adds no line to count)
        "delete_mar": write_commit(repo, env, "2026-03-10T10:00:00+00:00", {"ai.txt": ai[6:]}),
        "ai_apr": write_commit(
            repo, env, "2026-04-20T10:00:00+00:00", {"ai.txt": [*ai[6:], *(f"b{i}" for i in range(5))]}, **AGENT
        ),
    }
    return repo, env, shas


def test_survival_is_counted_at_the_end_of_the_next_month_and_quarter(history) -> None:  # type: ignore[no-untyped-def]
    repo, _, shas = history
    reports = git_hooks.scan_reports(repo)
    assert {r.commit.sha: r.classification.line_class for r in reports}[shas["ai_jan"]] == "ai_authored"
    events = git_hooks.survival_events(repo, reports, now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    got = {(e["contribution_id"], e["as_of"][:10]): e["lines_surviving"] for e in events}
    assert got == {
        (shas["human_jan"], "2026-03-01"): 9,  # one of ten rewritten in February
        (shas["ai_jan"], "2026-03-01"): 6,  # four of ten deleted in February
        (shas["human_jan"], "2026-07-01"): 9,  # end of Q2: the quarter after Q1
        (shas["ai_jan"], "2026-07-01"): 4,  # two more deleted in March
        (shas["human_feb"], "2026-04-01"): 1,  # the one line it added
        (shas["human_feb"], "2026-07-01"): 1,
        (shas["ai_apr"], "2026-06-01"): 5,
        (shas["ai_apr"], "2026-10-01"): 5,
    }
    # the AI-written lines of January 2026, a month on: 6 of 10; human ones: 9 of 10
    for e in events:
        assert e["type"] == "line_survival" and e["source"]["tool"] == "git"
        assert e["event_id"] == survival_event_id(e["contribution_id"], dt.datetime.fromisoformat(e["as_of"]))
    by_id = {e["contribution_id"]: e for e in events}
    assert by_id[shas["ai_jan"]]["occurred_at"].startswith("2026-01-12")  # placed at its commit's time
    assert by_id[shas["ai_jan"]]["actor"] == "codex@openai.com"


def test_only_period_ends_that_have_passed_are_counted(history) -> None:  # type: ignore[no-untyped-def]
    repo, _, shas = history
    reports = git_hooks.scan_reports(repo)
    events = git_hooks.survival_events(repo, reports, now=dt.datetime(2026, 3, 15, tzinfo=dt.UTC))
    assert {(e["contribution_id"], e["as_of"][:10]) for e in events} == {
        (shas["human_jan"], "2026-03-01"),
        (shas["ai_jan"], "2026-03-01"),
    }


def test_a_commit_merged_after_the_period_end_gets_no_count_for_it(tmp_path: Path) -> None:
    """Authored in January on a branch, merged in May: at the end of February it was not on the
    default branch, so no survival is claimed for then (not zero lines)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = git_env(tmp_path)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True, env=env)
    write_commit(repo, env, "2026-01-05T10:00:00+00:00", {"base.txt": ["x"]})
    subprocess.run(["git", "checkout", "-q", "-b", "feature"], cwd=repo, check=True, env=env)
    late = write_commit(repo, env, "2026-01-20T10:00:00+00:00", {"feature.txt": ["f1", "f2"]}, **AGENT)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True, env=env)
    merge_env = {
        **env,
        "GIT_AUTHOR_DATE": "2026-05-02T10:00:00+00:00",
        "GIT_COMMITTER_DATE": "2026-05-02T10:00:00+00:00",
    }
    subprocess.run(["git", "merge", "-q", "--no-ff", "-m", "merge", "feature"], cwd=repo, check=True, env=merge_env)
    events = git_hooks.survival_events(repo, git_hooks.scan_reports(repo), now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    got = {(e["contribution_id"], e["as_of"][:10]): e["lines_surviving"] for e in events}
    assert (late, "2026-03-01") not in got  # end of February: not merged yet
    assert got[(late, "2026-07-01")] == 2  # end of Q2: merged, both lines there


def test_the_cli_sends_survival_only_when_asked_and_rescans_repeat_the_same_events(history) -> None:  # type: ignore[no-untyped-def]
    repo, env, _ = history
    plain = scan(repo, env, "--dry-run")
    assert plain.returncode == 0 and '"line_survival"' not in plain.stdout
    first = scan(repo, env, "--dry-run", "--survival")
    again = scan(repo, env, "--dry-run", "--survival")
    assert first.returncode == 0, first.stderr
    events = [json.loads(line) for line in first.stdout.splitlines()]
    survival = [e for e in events if e["type"] == "line_survival"]
    assert len(survival) == 8 and first.stdout == again.stdout


def test_end_of_next_period() -> None:
    utc = dt.UTC
    assert end_of_next_period(dt.datetime(2026, 12, 31, 23, tzinfo=utc), "month") == dt.datetime(2027, 2, 1, tzinfo=utc)
    assert end_of_next_period(dt.datetime(2026, 11, 5, tzinfo=utc), "quarter") == dt.datetime(2027, 4, 1, tzinfo=utc)
    # an author date with an offset counts in its UTC month
    moment = dt.datetime(2026, 2, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert end_of_next_period(moment, "month") == dt.datetime(2026, 3, 1, tzinfo=utc)
