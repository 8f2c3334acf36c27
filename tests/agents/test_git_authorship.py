"""Git authorship on synthetic repositories that use the identity strings and trailer forms
agents and bots really write (where each was seen is cited next to it, as in
agents/git_authorship.py), covering every rule of issue 13: lab-domain people and people
named like agents, agents as author and as co-author, CI and release bots, teams, lines, the
default branch, rapid commits through the installed hooks, amend, rebase and cherry-pick."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoscope.agents import git_hooks

from .conftest import StubCollector
from .test_git import git_env

# shutil.which, not `git --version`: collecting the tests runs no subprocess
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def run_git(repo: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, env=env, capture_output=True, text=True).stdout.strip()


def commit(
    repo: Path, env: dict[str, str], message: str, *, author: str | None = None, files: dict[str, str] | None = None
) -> str:
    """A commit of ``files`` (default: one new line in file.txt) by ``author`` ("Name <email>")."""
    for name, text in (files or {"file.txt": f"{time.time_ns()}\n"}).items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(path.read_text() + text if path.exists() else text)
        run_git(repo, env, "add", name)
    extra = {}
    if author:
        name, _, email = author.partition(" <")
        extra = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">")}
    run_git(repo, {**env, **extra}, "commit", "-q", "-m", message)
    return run_git(repo, env, "rev-parse", "HEAD")


def scan(path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoscope.cli", "git", "scan", str(path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def events_of(path: Path, env: dict[str, str], *args: str) -> dict[str, dict]:
    out = scan(path, env, "--dry-run", *args)
    assert out.returncode == 0, out.stderr
    return {e["contribution_id"]: e for e in map(json.loads, out.stdout.splitlines())}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True, env=git_env(tmp_path))
    return path


#: (author, message, expected (first_author, ai_share, line_class))
CASES: dict[str, tuple[str, str, tuple[str, float, str]]] = {
    # People with an AI lab's domain, or named like an agent, without AI trailers: people.
    "openai_human": ("Sam Altmann <sam@openai.com>", "Tune retries", ("human", 0.0, "human")),
    "anthropic_human": ("Boris C <boris@anthropic.com>", "Fix flaky test", ("human", 0.0, "human")),
    "devin_human": ("Devin Jones <devin@lab.example>", "Docs", ("human", 0.0, "human")),
    "jules_human": ("Jules Martin <jules.martin@google.com>", "Lint", ("human", 0.0, "human")),
    # a real person's address with "chatgpt" in it (google-gemini/gemini-cli 4859359e40)
    "chatgpt_in_email": ("aiden <servicechatgpt@gmail.com>", "Typo", ("human", 0.0, "human")),
    "claude_human": ("Claude Dupont <claude@lab.example>", "Bump", ("human", 0.0, "human")),
    "human_coauthor": (
        "Ada <ada@lab.example>",
        "Pair\n\nCo-authored-by: Bob <bob@lab.example>",
        ("human", 0.0, "human"),
    ),
    # AI agents as author
    "claude_author": ("Claude <noreply@anthropic.com>", "Remove footer", ("ai", 1.0, "ai_authored")),  # claude-code
    "claude_bot": ("claude[bot] <209825114+claude[bot]@users.noreply.github.com>", "Fix", ("ai", 1.0, "ai_authored")),
    "copilot_agent": (
        "copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>",
        "Add tests",
        ("ai", 1.0, "ai_authored"),
    ),  # claude-code c1c3231a
    "jules_bot": (
        "google-labs-jules[bot] <161369871+google-labs-jules[bot]@users.noreply.github.com>",
        "Refactor",
        ("ai", 1.0, "ai_authored"),
    ),  # gemini-cli d6e648f2d7
    "devin_bot": (
        "devin-ai-integration[bot] <158243242+devin-ai-integration[bot]@users.noreply.github.com>",
        "Feature",
        ("ai", 1.0, "ai_authored"),
    ),  # named in issue 13
    "codex_bot": (
        "chatgpt-codex-connector[bot] <199175422+chatgpt-codex-connector[bot]@users.noreply.github.com>",
        "Fix",
        ("ai", 1.0, "ai_authored"),
    ),  # named in issue 13
    "cursor_agent": ("Cursor Agent <cursoragent@cursor.com>", "Refactor", ("ai", 1.0, "ai_authored")),  # gemini-cli
    # AI agents as co-author, or Claude Code's footer
    "claude_coauthor": (
        "Ada <ada@lab.example>",
        ("Fix loader\n\nCo-Authored-By: Claude Opus 4.6 (1M context) <noreply@anthropic.com>"),
        ("ai", 0.5, "ai_coauthored"),
    ),
    "codex_coauthor": (
        "Ada <ada@lab.example>",
        "Port\n\nCo-authored-by: Codex <codex@openai.com>",
        ("ai", 0.5, "ai_coauthored"),
    ),  # gemini-cli 320e9bb1f3
    "gemini_assist": (
        "Ada <ada@lab.example>",
        (
            "Apply suggestion\n\nCo-authored-by: gemini-code-assist[bot] "
            "<176961590+gemini-code-assist[bot]@users.noreply.github.com>"
        ),
        ("ai", 0.5, "ai_coauthored"),
    ),
    "cursor_coauthor": (
        "Ada <ada@lab.example>",
        "Wire\n\nCo-authored-by: Cursor <cursoragent@cursor.com>",
        ("ai", 0.5, "ai_coauthored"),
    ),  # claude-code 795cd136
    "claude_footer": (
        "Ada <ada@lab.example>",
        ("Split module\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)"),
        ("ai", 0.5, "ai_coauthored"),
    ),  # claude-code add6f9cc
    "anthropic_with_claude": (
        "Boris C <boris@anthropic.com>",
        ("Refactor\n\nCo-Authored-By: Claude <noreply@anthropic.com>"),
        ("ai", 0.5, "ai_coauthored"),
    ),
    "generated": (
        "Ada <ada@lab.example>",
        "Refactor\n\nGenerated-by: some-internal-tool 2.1",
        ("ai", 1.0, "ai_authored"),
    ),
    "assisted": ("Ada <ada@lab.example>", "Docs\n\nAssisted-by: Gemini:gemini-2.5-pro", ("human", 0.25, "ai_assisted")),
    # Automation: CI, dependency updaters, release bots, unknown GitHub Apps
    "actions": (
        "GitHub Actions <actions@github.com>",
        "chore: Update CHANGELOG.md",
        ("automation", 0.0, "automation"),
    ),  # claude-code 5cfc0a19
    "actions_bot": (
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>",
        "Release",
        ("automation", 0.0, "automation"),
    ),  # claude-code a4129b84
    "dependabot": (
        "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
        "Bump x",
        ("automation", 0.0, "automation"),
    ),  # claude-code be5a7625
    "renovate": (
        "renovate[bot] <29139614+renovate[bot]@users.noreply.github.com>",
        "Update y",
        ("automation", 0.0, "automation"),
    ),
    "semantic_release": (
        "semantic-release-bot <semantic-release-bot@martynus.net>",
        "chore(release): 1.2.0",
        ("automation", 0.0, "automation"),
    ),
    "stainless": (
        "stainless-app[bot] <142633134+stainless-app[bot]@users.noreply.github.com>",
        "feat(api): update",
        ("automation", 0.0, "automation"),
    ),  # anthropic-sdk-python e331230d
    "unknown_app": (
        "some-ci[bot] <1+some-ci[bot]@users.noreply.github.com>",
        "Sync",
        ("automation", 0.0, "automation"),
    ),
    # a CI bot whose commit names an AI co-author is still automation: the author decides first
    "bot_with_ai_trailer": (
        "GitHub Actions <actions@github.com>",
        ("Sync\n\nCo-authored-by: Claude <noreply@anthropic.com>"),
        ("automation", 0.0, "automation"),
    ),
}


def test_every_rule_classifies_real_identity_forms(repo: Path, tmp_path: Path) -> None:
    env = git_env(tmp_path)
    shas = {name: commit(repo, env, message, author=author) for name, (author, message, _) in CASES.items()}
    events = events_of(repo, env)
    got = {
        name: (events[sha]["first_author"], events[sha]["ai_share"], events[sha]["line_class"])
        for name, sha in shas.items()
    }
    assert got == {name: expected for name, (_, _, expected) in CASES.items()}


def test_explain_names_each_identity_its_class_and_the_rule(repo: Path, tmp_path: Path) -> None:
    env = git_env(tmp_path)
    names = ("anthropic_human", "claude_coauthor", "actions", "copilot_agent")
    shas = {n: commit(repo, env, CASES[n][1], author=CASES[n][0]) for n in names}
    out = scan(repo, env, "--explain", "--dry-run")
    assert out.returncode == 0, out.stderr
    blocks = {block.split()[0]: block for block in out.stdout.split("\n") if block and not block.startswith(" ")}
    text = out.stdout
    assert f"{shas['claude_coauthor'][:10]} " in text
    assert (
        "co-author Claude Opus 4.6 (1M context) <noreply@anthropic.com>: ai_agent (AI agent 'noreply@anthropic.com')"
        in text
    )
    assert "author    Boris C <boris@anthropic.com>: person (on neither list)" in text
    assert "author    GitHub Actions <actions@github.com>: automation (automation 'actions@github.com')" in text
    assert "rule      author: AI agent 'github:Copilot'" in text  # its noreply address's account
    assert blocks[shas["actions"][:10]].split()[2] == "automation:"
    assert "4 commits: 1 ai_authored, 1 ai_coauthored, 0 ai_assisted, 1 human, 1 automation" in text
    assert "AI first-author share (automation left out): 2/3 = 66.7%" in text
    assert "people (distinct author emails): 2; automation accounts: 1 with 1 commits" in text
    assert not [line for line in text.splitlines() if line.startswith("{")]  # no JSON with --explain


def test_lists_are_extended_in_autoscope_toml(repo: Path, tmp_path: Path) -> None:
    config = tmp_path / "autoscope.toml"
    config.write_text(
        '[git]\nextra_ai_agents = ["Lab Agent <agent@lab.example>", "lab-coder[bot]"]\n'
        'extra_automation = ["ci@lab.example"]\n'
    )
    env = git_env(tmp_path, AUTOSCOPE_CONFIG=str(config))
    ours = commit(repo, env, "x", author="Lab Agent <agent@lab.example>")
    app = commit(repo, env, "y\n\nCo-authored-by: lab-coder[bot] <7+lab-coder[bot]@users.noreply.github.com>")
    ci = commit(repo, env, "z", author="Nightly <ci@lab.example>")
    still = commit(repo, env, "w\n\nCo-authored-by: Claude <noreply@anthropic.com>")  # defaults are kept
    events = events_of(repo, env)
    assert [events[s]["line_class"] for s in (ours, app, ci, still)] == [
        "ai_authored",
        "ai_coauthored",
        "automation",
        "ai_coauthored",
    ]


def test_lines_and_the_default_branch(repo: Path, tmp_path: Path) -> None:
    env = git_env(tmp_path)
    base = commit(repo, env, "base", files={"a.py": "1\n2\n3\n"})
    run_git(repo, env, "checkout", "-q", "-b", "feature")
    merged = commit(
        repo, env, "feature work\n\nCo-authored-by: Claude <noreply@anthropic.com>", files={"b.py": "x\n" * 10}
    )
    run_git(repo, env, "checkout", "-q", "main")
    run_git(repo, env, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    run_git(repo, env, "checkout", "-q", "-b", "open-pr")
    (repo / "a.py").write_text("1\nchanged\n3\n")
    run_git(repo, env, "commit", "-qam", "unmerged")
    unmerged = run_git(repo, env, "rev-parse", "HEAD")
    events = events_of(repo, env, "--rev", "open-pr")
    assert (events[base]["lines_added"], events[base]["lines_deleted"]) == (3, 0)
    assert (events[merged]["lines_added"], events[merged]["lines_deleted"]) == (10, 0)
    assert (events[unmerged]["lines_added"], events[unmerged]["lines_deleted"]) == (1, 1)
    assert [events[s]["on_default_branch"] for s in (base, merged, unmerged)] == [True, True, False]
    assert len(events) == 3  # the merge commit is left out: its lines are its branch's
    assert events_of(repo, env, "--rev", "open-pr", "--default-branch", "open-pr")[unmerged]["on_default_branch"]


def test_teams_from_flag_author_map_and_paths(repo: Path, tmp_path: Path) -> None:
    config = tmp_path / "autoscope.toml"
    config.write_text(
        '[git.team_authors]\n"ada@lab.example" = "infra"\n[git.team_paths]\n"/evals/" = "evals"\n"*.md" = "docs"\n'
    )
    owners = tmp_path / "OWNERS"
    owners.write_text("# CODEOWNERS-like: the last match wins\n/training/  @pretraining\n/training/rl/ rl\n")
    env = git_env(tmp_path, AUTOSCOPE_CONFIG=str(config), AUTOSCOPE_TEAM="lab")
    bob = "Bob <bob@lab.example>"
    ada = commit(repo, env, "ada's", files={"evals/x.py": "1\n"})  # author map beats paths
    evals = commit(repo, env, "evals", author=bob, files={"evals/run.py": "1\n2\n", "README.md": "r\n"})
    rl = commit(repo, env, "rl", author=bob, files={"training/rl/ppo.py": "p\n"})
    pre = commit(repo, env, "pretraining", author=bob, files={"training/data.py": "d\n"})
    agent = commit(repo, env, "agent", author="Claude <noreply@anthropic.com>", files={"notes.md": "n\n"})
    other = commit(repo, env, "elsewhere", author=bob, files={"src/x.py": "1\n"})
    events = events_of(repo, env, "--team", "research", "--team-map", str(owners))
    assert {
        k: events[s]["team"]
        for k, s in {"ada": ada, "evals": evals, "rl": rl, "pre": pre, "agent": agent, "other": other}.items()
    } == {"ada": "infra", "evals": "evals", "rl": "rl", "pre": "pretraining", "agent": "docs", "other": "research"}
    assert events_of(repo, env)[other]["team"] == "lab"  # no --team: the configured team
    bad = tmp_path / "BAD"
    bad.write_text("/x/\n")
    out = scan(repo, env, "--dry-run", "--team-map", str(bad))
    assert out.returncode == 2 and "line 1" in out.stderr and "names no team" in out.stderr


# --- the hooks: no commit lost, none counted twice ---------------------------------------------


def install(repo: Path, env: dict[str, str], *args: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "autoscope.cli", "git", "install-hook", "--repo", str(repo), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr


def settle(collector: StubCollector, count: int, timeout_s: float = 60) -> list[str]:
    """The accepted event ids once ``count`` arrived and nothing more came for a second."""
    assert collector.wait_for(count, timeout_s=timeout_s), collector.accepted_ids()
    while True:
        before = len(collector.accepted_ids())
        time.sleep(1.5)
        if len(collector.accepted_ids()) == before:
            return collector.accepted_ids()


def test_twenty_rapid_commits_through_the_hook_arrive_once_each(tmp_path: Path, collector: StubCollector) -> None:
    env = git_env(tmp_path, AUTOSCOPE_COLLECTOR_URL=collector.url)
    repo = tmp_path / "lab repo"  # a space in the path, as on many laptops
    repo.mkdir()
    run_git(repo, env, "init", "-q", "-b", "main")
    install(repo, env, "--team", "agents")
    shas = []
    for i in range(20):  # as an agent commits: 0.1 s apart
        shas.append(commit(repo, env, f"step {i}\n\nCo-authored-by: Claude <noreply@anthropic.com>"))
        time.sleep(0.1)
    ids = settle(collector, 20)
    assert sorted(ids) == sorted(git_hooks.event_id_of(s) for s in shas)  # all 20, each exactly once
    assert {e["team"] for e in collector.accepted} == {"agents"}
    assert {e["on_default_branch"] for e in collector.accepted} == {True}  # committed on main
    # the backfill agrees with the hook: same event ids, so the warehouse keeps one of each
    assert {git_hooks.event_id_of(c) for c in events_of(repo, env)} == set(ids)


def test_amend_rebase_and_cherry_pick_neither_lose_nor_double(
    repo: Path, tmp_path: Path, collector: StubCollector
) -> None:
    env = git_env(tmp_path, AUTOSCOPE_COLLECTOR_URL=collector.url)
    install(repo, env)
    first = commit(repo, env, "first")
    commit(repo, env, "typo")
    run_git(repo, env, "commit", "-q", "--amend", "-m", "typo fixed")  # amend: same contribution
    run_git(repo, env, "checkout", "-q", "-b", "feature", first)
    f1 = commit(repo, env, "f1", files={"f1.txt": "1\n"})
    f2 = commit(repo, env, "f2", files={"f2.txt": "2\n"})
    run_git(repo, env, "rebase", "-q", "main")  # rebase: new shas, same contributions
    run_git(repo, env, "checkout", "-q", "-b", "hotfix", first)
    fix = commit(repo, env, "hotfix", files={"fix.txt": "f\n"})
    run_git(repo, env, "checkout", "-q", "main")
    run_git(repo, env, "cherry-pick", fix)  # cherry-pick: the same contribution on main
    ids = settle(collector, 5)
    assert len(ids) == len(set(ids)) == 5  # first, typo, f1, f2, hotfix: nothing twice
    # every commit reachable now maps onto one of them, so a backfill adds nothing
    now = events_of(repo, env, "--rev=--all")
    assert len(now) == 5 and {e["event_id"] for e in now.values()} == set(ids)
    assert {f1, f2, fix} <= set(now)  # rewritten commits keep the contribution id they were reported under


def test_cherry_pick_x_is_deduplicated_without_the_hook(repo: Path, tmp_path: Path) -> None:
    env = git_env(tmp_path)
    base = commit(repo, env, "base")
    run_git(repo, env, "checkout", "-q", "-b", "release")
    fix = commit(repo, env, "fix", files={"fix.txt": "f\n"})
    run_git(repo, env, "checkout", "-q", "main")
    run_git(repo, env, "cherry-pick", "-x", fix)
    picked = run_git(repo, env, "rev-parse", "HEAD")
    events = {e["event_id"]: e for e in events_of(repo, env, "--rev=--all").values()}
    assert picked != fix and len(events) == 2
    assert set(events) == {git_hooks.event_id_of(base), git_hooks.event_id_of(fix)}


def test_a_hook_installed_by_an_earlier_version_still_reports(
    repo: Path, tmp_path: Path, collector: StubCollector
) -> None:
    env = git_env(tmp_path, AUTOSCOPE_COLLECTOR_URL=collector.url)
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.parent.mkdir(exist_ok=True)
    # what `install-hook` wrote before issue 13: it only starts the sender, which read HEAD
    hook.write_text(
        f"#!/bin/sh\n# autoscope post-commit hook (installed by `autoscope git install-hook`)\n"
        f"{sys.executable} -m autoscope.cli git post-commit\n"
    )
    hook.chmod(0o755)
    sha = commit(repo, env, "old hook")
    assert settle(collector, 1) == [git_hooks.event_id_of(sha)]
    install(repo, env)  # re-installing replaces it with the queuing hook
    assert "autoscope git hook" in hook.read_text()
