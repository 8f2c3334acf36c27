"""Git integration: a ``contribution`` event per commit, from a post-commit hook or a backfill.

* ``install_hook(repo)``: writes ``post-commit`` into the repository's hooks directory
  (``git rev-parse --git-path hooks``, so ``core.hooksPath`` is honoured). An existing hook
  that is not ours is kept as ``post-commit.autoscope-chained`` and run first, with its exit
  status passed on. Ours reports the commit in the background: a commit is never slowed or
  failed by it, and when the collector is down the event waits in the spool.
* ``scan(path, since)``: every commit reachable from ``rev`` (default HEAD; merges left out)
  since a date. The event_id is derived from the commit's sha (UUIDv5), so a re-scan, or a
  scan of commits the hook already reported, is deduplicated by the warehouse; the
  contribution_id is the sha.

Authorship comes from the author and the commit's trailers (:class:`AuthorshipRules`, the
defaults below, overridable in ``autoscope.toml`` under ``[git]``):

=====================================================  ============  ==============
the commit                                             first_author  ai_share
=====================================================  ============  ==============
author is an AI agent, or a ``Generated-by:`` trailer  ai            1.0 (``generated_share``)
``Co-authored-by:`` naming an AI agent                 ai            0.5 (``coauthored_share``)
``Assisted-by:`` trailer                               human         0.25 (``assisted_share``)
none of these                                          human         0.0
=====================================================  ============  ==============

The first matching row wins. An AI agent is a name or email matching one of ``ai_agents``
(case-insensitive regular expressions; Claude/Anthropic, Copilot, Codex/OpenAI/ChatGPT,
Gemini, Cursor, Devin, Aider, Amazon Q, Jules, Sweep, bots with ``[bot]`` and an agent
name …). Tools such as Claude Code, Copilot's and Cursor's agents add
``Co-authored-by: <agent>`` to commits whose change they wrote, hence first author ``ai``
(``coauthor_first_author = "human"`` changes that); ``Generated-by``/``Assisted-by`` are the
conventions for declaring generated and assisted work, whatever tool they name.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from autoscope.agents import runtime
from autoscope.agents.config import read_config_file

logger = logging.getLogger("autoscope.agents")

HOOK_MARKER = "# autoscope post-commit hook"
CHAINED = "post-commit.autoscope-chained"
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://autoscope.invalid/git-commit")

DEFAULT_AI_AGENTS = (
    r"\bclaude\b", r"anthropic", r"copilot", r"\bcodex\b", r"openai", r"chatgpt", r"\bgpt-?\d",
    r"gemini", r"\bcursor(agent)?\b", r"\bdevin\b", r"\baider\b", r"amazon ?q\b", r"\bjules\b",
    r"sweep-ai", r"codeium", r"windsurf", r"tabnine", r"\bagent\b.*\[bot\]",
)


@dataclasses.dataclass(frozen=True)
class AuthorshipRules:
    """How a commit's author and trailers decide first_author and ai_share."""

    ai_agents: tuple[str, ...] = DEFAULT_AI_AGENTS
    generated_trailers: tuple[str, ...] = ("generated-by",)
    coauthor_trailers: tuple[str, ...] = ("co-authored-by",)
    assisted_trailers: tuple[str, ...] = ("assisted-by",)
    coauthor_first_author: str = "ai"
    generated_share: float = 1.0
    coauthored_share: float = 0.5
    assisted_share: float = 0.25

    def is_agent(self, text: str) -> bool:
        return any(re.search(pattern, text, re.IGNORECASE) for pattern in self.ai_agents)

    def classify(self, author: str, trailers: list[tuple[str, str]]) -> tuple[str, float, str]:
        """(first_author, ai_share, why) of a commit by ``author`` ("Name <email>")."""
        keys = [(key.strip().lower(), value.strip()) for key, value in trailers]
        if self.is_agent(author):
            return "ai", self.generated_share, "author is an AI agent"
        generated = [v for k, v in keys if k in self.generated_trailers]
        if generated:
            return "ai", self.generated_share, f"Generated-by: {generated[0]}"
        agents = [v for k, v in keys if k in self.coauthor_trailers and self.is_agent(v)]
        if agents:
            return self.coauthor_first_author, self.coauthored_share, f"Co-authored-by: {agents[0]}"
        assisted = [v for k, v in keys if k in self.assisted_trailers]
        if assisted:
            return "human", self.assisted_share, f"Assisted-by: {assisted[0]}"
        return "human", 0.0, "no AI trailer"


def load_rules(overrides: dict[str, Any] | None = None) -> AuthorshipRules:
    """The rules of ``autoscope.toml``'s ``[git]`` table (``ai_agents`` replaces the list,
    ``extra_ai_agents`` extends it), then ``overrides``; bad values are logged and ignored."""
    section = read_config_file().get("git", {})
    data = {**(section if isinstance(section, dict) else {}), **(overrides or {})}
    values: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(AuthorshipRules)}
    agents = list(data.pop("ai_agents", DEFAULT_AI_AGENTS)) + list(data.pop("extra_ai_agents", ()))
    values["ai_agents"] = tuple(str(a) for a in agents)
    for name, value in data.items():
        if name not in fields:
            logger.warning("autoscope: ignoring unknown [git] setting %s", name)
            continue
        default = fields[name].default
        try:
            if isinstance(default, tuple):
                values[name] = tuple(str(v).lower() for v in value)
            elif isinstance(default, float):
                share = float(value)
                if not 0.0 <= share <= 1.0:
                    raise ValueError("must be within 0..1")
                values[name] = share
            elif name == "coauthor_first_author":
                if value not in ("ai", "human"):
                    raise ValueError("must be ai or human")
                values[name] = value
        except (TypeError, ValueError) as exc:
            logger.warning("autoscope: ignoring [git] %s=%r: %s", name, value, exc)
    for pattern in values["ai_agents"]:
        re.compile(pattern)  # a bad pattern is a configuration error worth raising
    return AuthorshipRules(**values)


# --- reading commits ---------------------------------------------------------------------

_FORMAT = "%H%x1f%aI%x1f%an <%ae>%x1f%ae%x1f%P%x1f%(trailers:only,unfold,separator=%x1d)%x1e"


@dataclasses.dataclass(frozen=True)
class Commit:
    sha: str
    authored_at: str
    author: str
    email: str
    trailers: list[tuple[str, str]]


def _git(repo: Path | str, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True, timeout=120).stdout


def read_commits(repo: Path | str, *, rev: str = "HEAD", since: str | None = None,
                 max_count: int | None = None, include_merges: bool = False) -> list[Commit]:
    args = ["log", f"--format={_FORMAT}", rev]
    if since:
        args.append(f"--since={since}")
    if max_count:
        args.append(f"--max-count={max_count}")
    if not include_merges:
        args.append("--no-merges")
    commits = []
    for entry in _git(repo, *args).split("\x1e"):
        entry = entry.strip("\n")
        if not entry:
            continue
        sha, authored_at, author, email, _parents, trailer_text = entry.split("\x1f")
        trailers = []
        for item in trailer_text.split("\x1d"):
            key, colon, value = item.partition(":")
            if colon and key.strip():
                trailers.append((key.strip(), value.strip()))
        commits.append(Commit(sha, authored_at, author, email, trailers))
    return commits


def event_id_of(sha: str) -> str:
    """The commit's event_id: the same for the hook and every scan."""
    return str(uuid.uuid5(_ID_NAMESPACE, sha))


@functools.cache
def git_version() -> str:
    """The installed git's version, the ``source.version`` of commit events (run once)."""
    try:
        text = subprocess.run(["git", "--version"], capture_output=True, text=True, timeout=5).stdout
        return re.sub(r"[^A-Za-z0-9_.:+\-]", "", text.split()[-1]) or "unknown"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def commit_event(commit: Commit, rules: AuthorshipRules) -> dict[str, Any]:
    """The contribution event of ``commit`` (built with the hooks' checks, not sent)."""
    from autoscope.agents import hooks

    first_author, ai_share, _ = rules.classify(commit.author, commit.trailers)
    with runtime.capturing() as built:
        hooks.contribution.__wrapped__(  # type: ignore[attr-defined]
            commit.sha, kind="commit", first_author=first_author, ai_share=ai_share,
            event_id=event_id_of(commit.sha), occurred_at=commit.authored_at,
            actor=commit.email or runtime.current().settings.actor, tool="git",
        )
    event = built[0]
    event["source"]["version"] = git_version()
    return event


# --- commands ----------------------------------------------------------------------------

def hooks_dir(repo: Path | str) -> Path:
    path = Path(_git(repo, "rev-parse", "--git-path", "hooks").strip())
    return path if path.is_absolute() else (Path(repo) / path).resolve()


def hook_script() -> str:
    python = sys.executable
    return f"""#!/bin/sh
{HOOK_MARKER} (installed by `autoscope git install-hook`): reports the new commit as
# a `contribution` event in the background, so it never slows or fails the commit.
# An earlier post-commit hook, kept as {CHAINED}, runs first.
status=0
chained="$(dirname "$0")/{CHAINED}"
if [ -x "$chained" ]; then
    "$chained" "$@" || status=$?
fi
if [ -x "{python}" ]; then
    ( "{python}" -m autoscope.cli git post-commit >/dev/null 2>&1 & )
elif command -v autoscope >/dev/null 2>&1; then
    ( autoscope git post-commit >/dev/null 2>&1 & )
fi
exit $status
"""


def install_hook(repo: Path | str = ".") -> tuple[Path, Path | None]:
    """Install (or update) the hook; (its path, the chained earlier hook or None)."""
    directory = hooks_dir(repo)
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / "post-commit"
    chained = directory / CHAINED
    if hook.exists() and HOOK_MARKER not in hook.read_text(errors="replace"):
        if chained.exists():
            raise FileExistsError(f"both {hook} (not ours) and {chained} exist; merge them by hand")
        os.replace(hook, chained)
        chained.chmod(chained.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    hook.write_text(hook_script())
    hook.chmod(0o755)
    return hook, chained if chained.exists() else None


def install_command(repo: str | None) -> int:
    try:
        hook, chained = install_hook(repo or ".")
    except (FileExistsError, subprocess.CalledProcessError, OSError) as exc:
        detail = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) else exc
        print(f"autoscope git install-hook: {detail}", file=sys.stderr)
        return 1
    print(f"installed {hook}" + (f" (runs the earlier hook {chained} first)" if chained else ""))
    return 0


def post_commit_command(repo: str | None = None) -> int:
    """Run by the hook: report HEAD. Always exits 0 (a commit is never failed by us)."""
    from autoscope.agents import shell

    try:
        shell.configure_for_cli()
        (commit,) = read_commits(repo or ".", max_count=1, include_merges=True)
        event = commit_event(commit, load_rules())
        shell.deliver(event, timeout_s=10.0)
    except Exception as exc:
        print(f"autoscope git post-commit: {exc}", file=sys.stderr)
    return 0


def scan_command(path: str, *, since: str | None = None, rev: str = "HEAD",
                 include_merges: bool = False, dry_run: bool = False,
                 collector_url: str | None = None, token: str | None = None,
                 transport: str | None = None, timeout_s: float = 60.0) -> int:
    """Backfill: one contribution per commit; 0 when every event was sent or spooled."""
    import json

    try:
        rules = load_rules()
        commits = read_commits(path, rev=rev, since=since, include_merges=include_merges)
    except subprocess.CalledProcessError as exc:
        print(f"autoscope git scan: {exc.stderr.strip()}", file=sys.stderr)
        return 2
    except (OSError, re.error) as exc:
        print(f"autoscope git scan: {exc}", file=sys.stderr)
        return 2
    runtime.configure(collector_url=collector_url, token=token, transport=transport,
                      max_queue_size=max(len(commits) + 16, 4096))
    events = [commit_event(c, rules) for c in commits]
    if dry_run:
        for event in events:
            print(json.dumps(event, separators=(",", ":")))
        return 0
    exporter = runtime.current()
    before = exporter.stats()
    for event in events:
        exporter.submit(event)
    runtime.flush(timeout_s)
    after = exporter.stats()
    delta = {k: after[k] - before[k] for k in ("sent", "spooled", "rejected", "dropped")}
    ai = sum(e["first_author"] == "ai" for e in events)
    print(f"{len(events)} commits ({ai} with AI first author) since {since or 'the first'}: "
          f"sent {delta['sent']}, spooled {delta['spooled']}, rejected {delta['rejected']}, "
          f"dropped {delta['dropped']}")
    if delta["rejected"] or delta["dropped"]:
        print(f"autoscope git scan: {after['last_error']}", file=sys.stderr)
        return 1
    return 0
