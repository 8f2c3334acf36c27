"""Authorship on a real repository's history, end to end (scan → collector → Kafka → DuckDB →
indicator), against an independent count made here from ``git log`` and its trailers.

Point ``AUTOSCOPE_REAL_GIT_REPO`` at a clone (a bare mirror is fine) of a public repository of an
AI lab, e.g. anthropics/claude-code; ``AUTOSCOPE_REAL_GIT_SINCE`` (default 2025-10-01) bounds the
history. Skipped without it: no repository slice is kept in this project.

The independent count applies the documented rules (README "Git", agents/git_authorship.py) with
code of its own: identities compared as plain sets of emails and GitHub accounts, trailers read
by git itself (``%(trailers:key=…)``, whose key match is case-insensitive), lines from
``--shortstat``, the default branch from ``git rev-list``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from autoscope.pipelines.indicators import authorship, merged_code
from autoscope.pipelines.indicators.cells import Scope

from .test_against_collector import rows, service  # noqa: F401  (the fixture)

REPO = os.environ.get("AUTOSCOPE_REAL_GIT_REPO")
SINCE = os.environ.get("AUTOSCOPE_REAL_GIT_SINCE", "2025-10-01")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not REPO, reason="set AUTOSCOPE_REAL_GIT_REPO to a clone of a real repository"),
]

# The documented default lists, as the specification the classifier is checked against.
AI_EMAILS = {"noreply@anthropic.com", "codex@openai.com", "cursoragent@cursor.com", "cascade@windsurf.ai"}
AI_ACCOUNTS = {
    "claude[bot]",
    "anthropic-code-agent[bot]",
    "copilot-swe-agent[bot]",
    "copilot",
    "github-advanced-security[bot]",
    "chatgpt-codex-connector[bot]",
    "devin-ai-integration[bot]",
    "google-labs-jules[bot]",
    "gemini-cli[bot]",
    "gemini-code-assist[bot]",
    "coderabbitai[bot]",
}
BOT_EMAILS = {"actions@github.com", "semantic-release-bot@martynus.net", "gemini-cli-robot@google.com"}
BOT_ACCOUNTS = {
    "github-actions[bot]",
    "dependabot[bot]",
    "renovate[bot]",
    "release-please[bot]",
    "pre-commit-ci[bot]",
    "stainless-app[bot]",
}
FOOTER = re.compile(r"Generated with \[Claude Code\]\(https://claude\.(ai|com)/")


def kind(identity: str) -> str:
    """person, ai or automation of "Name <email>"."""
    name, _, email = identity.strip().rpartition("<")
    name, email = name.strip().lower(), email.rstrip(">").strip().lower()
    accounts = {name} if name.endswith("[bot]") else set()
    noreply = re.fullmatch(r"(?:\d+\+)?([^@]+)@users\.noreply\.github\.com", email)
    if noreply:
        accounts.add(noreply.group(1))
    if email in AI_EMAILS or accounts & AI_ACCOUNTS:
        return "ai"
    if email in BOT_EMAILS or accounts & BOT_ACCOUNTS or any(a.endswith("[bot]") for a in accounts):
        return "automation"
    return "person"


def quarter(iso: str) -> str:
    moment = dt.datetime.fromisoformat(iso).astimezone(dt.UTC)
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def independent_count(repo: str, since: str) -> dict[str, dict[str, float]]:
    """Per quarter: commits per class, people + agents (actors), AI first authors, merged lines."""
    fmt = (
        "%x1e%H%x1f%aI%x1f%an <%ae>%x1f%ae%x1f%(trailers:key=Co-authored-by,valueonly,unfold,separator=%x1d)"
        "%x1f%(trailers:key=Generated-by,valueonly,separator=%x1d)%x1f%(trailers:key=Assisted-by,valueonly,"
        "separator=%x1d)%x1f%B%x1f"
    )
    out = subprocess.run(
        ["git", "-C", repo, "log", "--no-merges", f"--since={since}", f"--format={fmt}", "--shortstat", "-M", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    merged = set(
        subprocess.run(
            ["git", "-C", repo, "rev-list", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    per: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    actors: dict[str, set[str]] = defaultdict(set)
    for record in filter(str.strip, out.split("\x1e")):
        sha, when, author, email, coauthors, generated, assisted, rest = record.split("\x1f", 7)
        body, _, stat = rest.rpartition("\x1f")
        added = int(m.group(1)) if (m := re.search(r"(\d+) insertions?\(\+\)", stat)) else 0
        q = per[quarter(when)]
        author_kind = kind(author)
        if author_kind == "automation":
            cls = "automation"
        elif author_kind == "ai" or generated.strip():
            cls = "ai_authored"
        elif any(kind(c) == "ai" for c in coauthors.split("\x1d") if c.strip()) or FOOTER.search(body):
            cls = "ai_coauthored"
        elif assisted.strip():
            cls = "ai_assisted"
        else:
            cls = "human"
        q[cls] += 1
        if cls != "automation":
            q["n"] += 1
            q["ai_first"] += cls in ("ai_authored", "ai_coauthored")
            actors[quarter(when)].add(email)
            if sha in merged:
                q["merged_lines"] += added
                q["merged_ai_lines"] += added if cls in ("ai_authored", "ai_coauthored") else 0
    for label, q in per.items():
        q["actors"] = len(actors[label])
    return {label: dict(q) for label, q in per.items()}


def test_indicator_equals_an_independent_count_on_real_history(service, tmp_path: Path) -> None:  # noqa: F811
    expected = independent_count(REPO, SINCE)
    total = int(
        sum(
            q.get(c, 0)
            for q in expected.values()
            for c in ("automation", "ai_authored", "ai_coauthored", "ai_assisted", "human")
        )
    )
    env = {
        **os.environ,
        "AUTOSCOPE_COLLECTOR_URL": service.endpoint,
        "AUTOSCOPE_TEAM": "lab",
        "AUTOSCOPE_CONFIG": str(tmp_path / "none.toml"),
        "HOME": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-m", "autoscope.cli", "git", "scan", REPO, "--since", SINCE],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{total} commits"), out.stdout
    deadline = time.monotonic() + 120
    while rows(service, "SELECT count(*) FROM contributions")[0][0] < total and time.monotonic() < deadline:
        time.sleep(0.5)
    assert rows(service, "SELECT count(*) FROM contributions")[0][0] == total
    cursor = service.cursor()
    try:
        frame = authorship.compute(cursor, Scope(("quarter",)))
        lines = merged_code.compute(cursor, Scope(("quarter",)))
    finally:
        cursor.close()
    lab = frame.filter(frame["cut"] == "lab")
    got = {(r["period"], r["metric"]): r for r in lab.iter_rows(named=True)}
    merged = {(r["period"], r["metric"]): r for r in lines.filter(lines["cut"] == "lab").iter_rows(named=True)}
    for label, q in expected.items():
        share = got[(label, "ai_first_author_share")]
        print(f"{label}: {q}")
        n = q.get("n", 0)
        assert share["n_events"] == n, label  # automation is not in the denominator
        assert share["n_actors"] == q["actors"], label  # nor among the actors counted for k
        if n:
            assert share["value"] == pytest.approx(q["ai_first"] / n), label
        else:  # only automation committed that quarter: no share, rather than 0 %
            assert share["value"] is None, label
        assert got[(label, "automation_contributions")]["value"] == q.get("automation", 0), label
        if q.get("merged_lines"):
            assert merged[(label, "ai_share")]["value"] == pytest.approx(q["merged_ai_lines"] / q["merged_lines"]), (
                label
            )
