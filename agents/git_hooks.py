"""Git integration: a ``contribution`` event per commit, from the installed hooks or a backfill.

* ``install_hook(repo, team=None)``: writes ``post-commit`` and ``post-rewrite`` into the
  repository's hooks directory (``git rev-parse --git-path hooks``, so ``core.hooksPath`` is
  honoured). An existing hook that is not ours is kept as ``<hook>.autoscope-chained`` and run
  first, with its exit status passed on.
* The hooks never lose a commit: **synchronously**, in the shell and with no Python started,
  ``post-commit`` appends ``<sha> <origin>`` to ``<git-common-dir>/autoscope/pending`` (one
  ``rev-parse``; a line appended with ``O_APPEND`` is never mixed with another), then starts
  the sender in the background, so a commit is never slowed or failed by it. The sender
  (``autoscope git post-commit``) takes a lock, reports every queued commit it has not
  reported yet (``sent``), and leaves in the spool what the collector did not take. Agents
  commit several times a second; each commit is queued before its hook returns, so however
  the senders interleave every commit is sent once.
* Rewrites neither lose nor double a contribution: the origin of an amended commit (the reflog
  says ``commit (amend)``) or of a rebased or cherry-picked one (``CHERRY_PICK_HEAD``) is
  queued with it, ``post-rewrite`` records git's old → new list in ``autoscope/rewrites``, and
  a rewritten commit reuses its origin's event_id (:mod:`~autoscope.agents.git_commits`).
* ``scan(path, since)``: every commit reachable from ``rev`` (default HEAD; merges left out)
  since a date. Scan and hook derive the event_id from the same sha (UUIDv5 of the origin), so
  the warehouse keeps one event per commit whichever reported it first.

Authorship: :mod:`~autoscope.agents.git_authorship`; teams: :mod:`~autoscope.agents.git_teams`.
``on_default_branch``: a scan says true or false; the hook says true when the commit is already
reachable from the default branch (committed on it) and leaves it unknown otherwise, since a
branch commit may be merged later and the warehouse keeps the first report of a commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import functools
import json
import os
import re
import stat
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from autoscope.agents import runtime
from autoscope.agents.config import read_config_file
from autoscope.agents.git_authorship import AuthorshipRules, Classification, load_rules
from autoscope.agents.git_commits import (
    Commit,
    default_branch,
    git,
    is_ancestor,
    origin_of,
    reachable_from,
    read_commit_list,
    read_commits,
    read_rewrites,
    state_dir,
)
from autoscope.agents.git_incidents import find_incidents, incident_event
from autoscope.agents.git_survival import Merged, survivals
from autoscope.agents.git_teams import TeamMap, load_team_map

HOOK_MARKER = "# autoscope git hook"
_OLD_MARKER = "# autoscope post-commit hook"
CHAINED = "post-commit.autoscope-chained"
HOOKS = ("post-commit", "post-rewrite")
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://autoscope.invalid/git-commit")
#: the queue is rotated (pending → pending.1) past this size, so a drain never reads much
_ROTATE_BYTES = 256 * 1024

__all__ = [
    "AuthorshipRules",
    "Commit",
    "commit_event",
    "event_id_of",
    "install_hook",
    "load_rules",
    "read_commits",
    "scan_command",
]


def event_id_of(sha: str) -> str:
    """The commit's event_id: the same for the hook and every scan."""
    return str(uuid.uuid5(_ID_NAMESPACE, sha))


@functools.cache
def git_version() -> str:
    """The installed git's version, the ``source.version`` of commit events (run once)."""
    try:
        text = subprocess.run(["git", "--version"], capture_output=True, text=True, timeout=5, check=False).stdout
        return re.sub(r"[^A-Za-z0-9_.:+\-]", "", text.split()[-1]) or "unknown"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


@dataclasses.dataclass(frozen=True)
class Report:
    """One commit as it will be reported: the event and why it says what it says."""

    commit: Commit
    origin: str
    classification: Classification
    team: str | None
    team_rule: str
    on_default_branch: bool | None
    event: dict[str, Any]


def commit_event(
    commit: Commit,
    rules: AuthorshipRules,
    *,
    origin: str | None = None,
    team: str | None = None,
    on_default_branch: bool | None = None,
) -> dict[str, Any]:
    """The contribution event of ``commit`` (built with the hooks' checks, not sent)."""
    return build_report(
        commit, rules, origin=origin, teams=TeamMap(default=team), on_default_branch=on_default_branch
    ).event


def build_report(
    commit: Commit, rules: AuthorshipRules, *, origin: str | None, teams: TeamMap, on_default_branch: bool | None
) -> Report:
    from autoscope.agents import hooks

    origin = origin or commit.sha
    verdict = rules.classify(commit.author, commit.trailers, commit.message)
    team, team_rule = teams.team_of(commit)
    envelope: dict[str, Any] = {"team": team} if team else {}
    with runtime.capturing() as built:
        hooks.contribution.__wrapped__(  # type: ignore[attr-defined]
            origin,
            kind="commit",
            first_author=verdict.first_author,
            ai_share=verdict.ai_share,
            lines_added=commit.lines_added,
            lines_deleted=commit.lines_deleted,
            line_class=verdict.line_class,
            on_default_branch=on_default_branch,
            event_id=event_id_of(origin),
            occurred_at=commit.authored_at,
            actor=commit.email or runtime.current().settings.actor,
            tool="git",
            **envelope,
        )
    event = built[0]
    event["source"]["version"] = git_version()
    return Report(commit, origin, verdict, team, team_rule, on_default_branch, event)


# --- hooks -------------------------------------------------------------------------------


def hooks_dir(repo: Path | str) -> Path:
    path = Path(git(repo, "rev-parse", "--git-path", "hooks").strip())
    return path if path.is_absolute() else (Path(repo) / path).resolve()


def _sender(team: str | None) -> str:
    """The shell lines that start the sender in the background, its errors in hook.log."""
    python = sys.executable
    args = f" --team '{team}'" if team else ""
    return f"""if [ -x "{python}" ]; then
    ( "{python}" -m autoscope.cli git post-commit{args} >/dev/null 2>>"$dir/hook.log" & )
elif command -v autoscope >/dev/null 2>&1; then
    ( autoscope git post-commit{args} >/dev/null 2>>"$dir/hook.log" & )
fi"""


def hook_script(name: str = "post-commit", team: str | None = None) -> str:
    chained = f"{name}.autoscope-chained"
    if name == "post-commit":
        return f"""#!/bin/sh
{HOOK_MARKER}: post-commit (installed by `autoscope git install-hook`). Queues the new
# commit synchronously (cheap: one rev-parse, no Python), then reports it in the background,
# so it never slows or fails the commit. An earlier post-commit hook, kept as {chained},
# runs first.
status=0
chained="$(dirname "$0")/{chained}"
if [ -x "$chained" ]; then
    "$chained" "$@" || status=$?
fi
out=$(git rev-parse HEAD --git-dir --git-common-dir 2>/dev/null) || exit $status
# one line each; split on newlines only, without globbing: paths may hold spaces
set -f; old_ifs=$IFS; IFS='
'; set -- $out; IFS=$old_ifs; set +f
[ $# -eq 3 ] || exit $status
sha=$1 gitdir=$2 dir="$3/autoscope"
origin=-
if [ -f "$gitdir/CHERRY_PICK_HEAD" ]; then
    origin=$(cat "$gitdir/CHERRY_PICK_HEAD")
else
    case "$(git reflog -1 --format=%gs HEAD 2>/dev/null)" in
        "commit (amend)"*) origin=$(git rev-parse -q --verify 'HEAD@{{1}}' 2>/dev/null || echo -) ;;
    esac
fi
mkdir -p "$dir" || exit $status
echo "$sha $origin" >> "$dir/pending"
[ "$origin" = - ] || echo "$sha $origin" >> "$dir/rewrites"
{_sender(team)}
exit $status
"""
    return f"""#!/bin/sh
{HOOK_MARKER}: post-rewrite (installed by `autoscope git install-hook`). Records git's
# "old new" list of an amend or rebase, so the rewritten commits keep the event_id of the
# ones already reported, and queues the new commits (a rebase backend may not run
# post-commit). An earlier post-rewrite hook, kept as {chained}, runs first.
status=0
input=$(cat)
chained="$(dirname "$0")/{chained}"
if [ -x "$chained" ]; then
    printf '%s\\n' "$input" | "$chained" "$@" || status=$?
fi
dir="$(git rev-parse --git-common-dir 2>/dev/null)/autoscope"
mkdir -p "$dir" || exit $status
lines=$(printf '%s\\n' "$input" | while read -r old new rest; do [ -n "$new" ] && echo "$new $old"; done)
if [ -n "$lines" ]; then
    printf '%s\\n' "$lines" >> "$dir/rewrites"
    printf '%s\\n' "$lines" >> "$dir/pending"
fi
{_sender(team)}
exit $status
"""


def _is_ours(path: Path) -> bool:
    text = path.read_text(errors="replace")
    return HOOK_MARKER in text or _OLD_MARKER in text


def install_hook(repo: Path | str = ".", team: str | None = None) -> tuple[Path, list[Path]]:
    """Install (or update) both hooks; (the post-commit hook, the chained earlier hooks)."""
    if team is not None and not re.fullmatch(r"[A-Za-z0-9_.:/+\-]{1,128}", team):
        raise ValueError(f"--team {team!r}: a label of letters, digits and _ . : / + -")
    directory = hooks_dir(repo)
    directory.mkdir(parents=True, exist_ok=True)
    chained_hooks = []
    for name in HOOKS:
        hook = directory / name
        chained = directory / f"{name}.autoscope-chained"
        if hook.exists() and not _is_ours(hook):
            if chained.exists():
                raise FileExistsError(f"both {hook} (not ours) and {chained} exist; merge them by hand")
            os.replace(hook, chained)
            chained.chmod(chained.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        hook.write_text(hook_script(name, team))
        hook.chmod(0o755)
        if chained.exists():
            chained_hooks.append(chained)
    return directory / "post-commit", chained_hooks


def install_command(repo: str | None, team: str | None = None) -> int:
    try:
        hook, chained = install_hook(repo or ".", team)
    except (FileExistsError, ValueError, subprocess.CalledProcessError, OSError) as exc:
        detail = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) else exc
        print(f"autoscope git install-hook: {detail}", file=sys.stderr)
        return 1
    earlier = ", ".join(str(c) for c in chained)
    print(
        f"installed {hook} and post-rewrite"
        + (f" (runs the earlier hook {earlier} first)" if chained else "")
        + (f"; team {team}" if team else "")
    )
    return 0


def _queued(directory: Path) -> list[tuple[str, str]]:
    """(sha, origin or "-") of every complete line of the queue, oldest first."""
    entries = []
    for name in ("pending.1", "pending"):
        path = directory / name
        if path.exists():
            for line in path.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 2 and re.fullmatch(r"[0-9a-f]{40,64}", parts[0]):
                    entries.append((parts[0], parts[1]))
    return entries


def _rotate(directory: Path, done: set[str]) -> None:
    """pending → pending.1 once it is large; ``sent`` keeps the shas still in the queue files.
    A line written into the old pending.1 after it was read is safe: pending.1 is only
    dropped at the next rotation, long after, and it is read by every drain until then."""
    pending = directory / "pending"
    if not pending.exists() or pending.stat().st_size < _ROTATE_BYTES:
        return
    os.replace(pending, directory / "pending.1")
    keep = {sha for sha, _ in _queued(directory)}
    (directory / "sent").write_text("".join(f"{sha}\n" for sha in sorted(done & keep)))


def drain(repo: Path | str = ".", team: str | None = None, timeout_s: float = 10.0) -> int:
    """Report every queued commit not reported yet (the hooks' background sender); the number
    of events handed to the exporter (sent now or spooled)."""
    directory = state_dir(repo)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one sender at a time; the others find nothing left
        sent_path = directory / "sent"
        done = set(sent_path.read_text().split()) if sent_path.exists() else set()
        todo = list(dict.fromkeys(sha for sha, _ in _queued(directory) if sha not in done))
        if not todo:
            return 0
        rules, teams = load_rules(), load_team_map(team)
        rewrites = read_rewrites(repo)
        branch = default_branch(repo, configured_default_branch())
        exporter = runtime.current()
        done_ids = {event_id_of(origin_of_sha(sha, rewrites)) for sha in done}
        handed = 0
        for commit in read_commit_list(repo, todo):
            origin = origin_of(commit, rewrites)
            if event_id_of(origin) not in done_ids:
                report = build_report(
                    commit,
                    rules,
                    origin=origin,
                    teams=teams,
                    on_default_branch=True if is_ancestor(repo, commit.sha, branch) else None,
                )
                exporter.submit(report.event)
                done_ids.add(event_id_of(origin))
                handed += 1
                for incident in find_incidents(repo, [report]):  # a revert or fix of an earlier commit
                    exporter.submit(incident_event(incident, git_version()))
                    handed += 1
        runtime.flush(timeout_s)  # what the collector does not take now waits in the spool
        with open(sent_path, "a") as sent:
            sent.write("".join(f"{sha}\n" for sha in todo))
        _rotate(directory, done | set(todo))
        return handed


def configured_default_branch() -> str | None:
    """``[git] default_branch`` of ``autoscope.toml``, if set."""
    section = read_config_file().get("git", {})
    value = section.get("default_branch") if isinstance(section, dict) else None
    return str(value) if value else None


def origin_of_sha(sha: str, rewrites: dict[str, str]) -> str:
    """The origin of ``sha`` by the recorded rewrites only (for shas already reported)."""
    seen = {sha}
    while sha in rewrites and rewrites[sha] not in seen:
        sha = rewrites[sha]
        seen.add(sha)
    return sha


def _queue_head_for_an_old_hook(repo: Path | str) -> None:
    """A hook installed by an earlier version queues nothing and only starts us: queue HEAD
    for it (as that version reported), until ``install-hook`` is run again."""
    hook = hooks_dir(repo) / "post-commit"
    if hook.exists() and _OLD_MARKER in hook.read_text(errors="replace"):
        sha = git(repo, "rev-parse", "HEAD").strip()
        directory = state_dir(repo)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "pending", "a") as pending:
            pending.write(f"{sha} -\n")


def post_commit_command(repo: str | None = None, team: str | None = None) -> int:
    """Run by the hooks: report what they queued. Always exits 0 (a commit is never failed by us)."""
    from autoscope.agents import shell

    try:
        shell.configure_for_cli()
        _queue_head_for_an_old_hook(repo or ".")
        drain(repo or ".", team)
    except Exception as exc:  # noqa: BLE001 - run by a git hook: whatever fails, the commit stands
        print(f"autoscope git post-commit: {exc}", file=sys.stderr)
    return 0


# --- backfill ----------------------------------------------------------------------------


def scan_reports(
    path: str | Path,
    *,
    since: str | None = None,
    rev: str = "HEAD",
    include_merges: bool = False,
    team: str | None = None,
    team_map: str | None = None,
    branch: str | None = None,
) -> list[Report]:
    """The reports of a scan (nothing sent). Raises CalledProcessError, OSError, ValueError."""
    rules = load_rules()
    teams = load_team_map(team, team_map)
    commits = read_commits(path, rev=rev, since=since, include_merges=include_merges)
    rewrites = read_rewrites(path)
    merged = reachable_from(path, default_branch(path, branch or configured_default_branch()))
    return [
        build_report(c, rules, origin=origin_of(c, rewrites), teams=teams, on_default_branch=c.sha in merged)
        for c in commits
    ]


def survival_events(
    path: str | Path, reports: Iterable[Report], *, branch: str | None = None, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """``line_survival`` events for the merged commits of a scan (:mod:`~autoscope.agents.git_survival`):
    each commit's added lines still on the default branch at the end of the next month and quarter,
    where that has passed. Raises CalledProcessError, OSError, ValueError."""
    from autoscope.agents import hooks

    ref = default_branch(path, branch or configured_default_branch())
    if ref is None:
        return []
    by_origin = {r.origin: r for r in reports}
    merged = [
        Merged(
            r.commit.sha,
            r.origin,
            dt.datetime.fromisoformat(r.commit.authored_at),
            tuple(f.path for f in r.commit.files),
        )
        for r in by_origin.values()
        if r.on_default_branch and r.commit.lines_added
    ]
    events = []
    for found in survivals(path, merged, ref, now=now):
        report = by_origin[found.origin]
        envelope: dict[str, Any] = {"team": report.team} if report.team else {}
        with runtime.capturing() as built:
            hooks.line_survival.__wrapped__(  # type: ignore[attr-defined]
                found.origin,
                as_of=found.as_of,
                lines_surviving=found.lines_surviving,
                event_id=found.event_id,
                occurred_at=report.commit.authored_at,  # the commit's period (module docstring)
                actor=report.commit.email or runtime.current().settings.actor,
                tool="git",
                **envelope,
            )
        event = built[0]
        event["source"]["version"] = git_version()
        events.append(event)
    return events


def explain(reports: Iterable[Report], out: TextIO) -> None:
    """Per commit, the class of each identity, the rule that matched and the result; then the totals."""
    reports = list(reports)
    for r in reports:
        c, v = r.commit, r.classification
        lines = "" if c.lines_added is None else f" +{c.lines_added} -{c.lines_deleted}"
        origin = f" (rewrite of {r.origin[:10]})" if r.origin != c.sha else ""
        print(
            f"{c.sha[:10]} {c.authored_at[:10]} {v.line_class}: first_author={v.first_author} "
            f"ai_share={v.ai_share:g}{lines} default_branch={_yes_no(r.on_default_branch)} "
            f"team={r.team or '(configured)'} [{r.team_rule}]{origin}",
            file=out,
        )
        for role, identity in v.identities:
            print(f"    {role:<9} {identity.identity}: {identity.author_class} ({identity.rule})", file=out)
        print(f"    rule      {v.rule}", file=out)
    print(summary(reports), file=out)


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def summary(reports: list[Report]) -> str:
    """Commits per class, the AI first-author share without automation, people counted, lines."""
    classes = Counter(r.classification.line_class for r in reports)
    authored = [r for r in reports if r.classification.first_author != "automation"]
    ai = sum(r.classification.first_author == "ai" for r in authored)
    people = {r.commit.email.lower() for r in authored if r.classification.identities[0][1].author_class == "person"}
    bots = {r.commit.email.lower() for r in reports if r.classification.first_author == "automation"}
    merged = Counter()
    for r in reports:
        if r.on_default_branch and r.commit.lines_added is not None:
            merged[r.classification.line_class] += r.commit.lines_added
    share = f"{ai}/{len(authored)} = {ai / len(authored):.1%}" if authored else "n/a (no authored commits)"
    written = sum(v for k, v in merged.items() if k != "automation")
    with_ai = merged["ai_authored"] + merged["ai_coauthored"]
    line_share = f"{with_ai}/{written} = {with_ai / written:.1%}" if written else "n/a"
    order = ("ai_authored", "ai_coauthored", "ai_assisted", "human", "automation")
    return "\n".join(
        [
            f"{len(reports)} commits: " + ", ".join(f"{classes[k]} {k}" for k in order),
            f"AI first-author share (automation left out): {share}",
            (
                f"people (distinct author emails): {len(people)}; automation accounts: {len(bots)} "
                f"with {classes['automation']} commits"
            ),
            "lines added on the default branch: " + ", ".join(f"{merged[k]} {k}" for k in order),
            f"share of those lines (automation left out) written with AI (authored or co-authored): {line_share}",
        ]
    )


def scan_command(
    path: str,
    *,
    since: str | None = None,
    rev: str = "HEAD",
    include_merges: bool = False,
    dry_run: bool = False,
    explain_: bool = False,
    team: str | None = None,
    team_map: str | None = None,
    branch: str | None = None,
    survival: bool = False,
    collector_url: str | None = None,
    token: str | None = None,
    transport: str | None = None,
    timeout_s: float = 60.0,
) -> int:
    """Backfill: one contribution per commit, an incident per revert or fix of an earlier commit
    (:mod:`~autoscope.agents.git_incidents`), and with ``survival`` the line_survival of each
    merged commit; 0 when every event was sent or spooled."""
    try:
        reports = scan_reports(
            path, since=since, rev=rev, include_merges=include_merges, team=team, team_map=team_map, branch=branch
        )
        counted = survival_events(path, reports, branch=branch) if survival else []
    except subprocess.CalledProcessError as exc:
        print(f"autoscope git scan: {exc.stderr.strip()}", file=sys.stderr)
        return 2
    except (OSError, ValueError, TypeError, re.error) as exc:
        print(f"autoscope git scan: {exc}", file=sys.stderr)
        return 2
    commits = [r.event for r in reports]
    try:
        incidents = find_incidents(path, reports)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"autoscope git scan: reverts and fixes not read: {exc}", file=sys.stderr)
        incidents = []
    events = commits + [incident_event(i, git_version()) for i in incidents]
    if explain_:
        explain(reports, sys.stdout)
        for i in incidents:
            print(
                f"{i.fixing.sha[:10]} {i.kind} of {i.target[:10]}: incident, severity {i.event_severity}",
                file=sys.stdout,
            )
    if dry_run:
        if not explain_:
            for event in [*events, *counted]:
                print(json.dumps(event, separators=(",", ":")))
        return 0
    runtime.configure(
        collector_url=collector_url,
        token=token,
        transport=transport,
        max_queue_size=max(len(events) + len(counted) + 16, 4096),
    )
    exporter = runtime.current()
    before = exporter.stats()
    for event in [*events, *counted]:
        exporter.submit(event)
    runtime.flush(timeout_s)
    after = exporter.stats()
    delta = {k: after[k] - before[k] for k in ("sent", "spooled", "rejected", "dropped")}
    ai = sum(e["first_author"] == "ai" for e in commits)
    bots = sum(e["first_author"] == "automation" for e in commits)
    print(
        f"{len(commits)} commits ({ai} with AI first author), {bots} by automation, "
        f"{len(incidents)} reverts or fixes of earlier commits (incidents), since "
        f"{since or 'the first'}: sent {delta['sent']}, spooled {delta['spooled']}, "
        f"rejected {delta['rejected']}, dropped {delta['dropped']}"
        + (f"; {len(counted)} survival counts (line_survival) among them" if survival else "")
    )
    if delta["rejected"] or delta["dropped"]:
        print(f"autoscope git scan: {after['last_error']}", file=sys.stderr)
        return 1
    return 0
