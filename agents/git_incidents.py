"""What git shows by itself of errors that escaped review: reverts and fixes of earlier commits,
as ``incident`` events (revision 6) naming the commit that introduced the error.

* A commit whose message says ``This reverts commit <sha>`` (``git revert``'s own line) is an
  incident of kind ``revert``, severity ``medium``: the change was taken back whole.
* A ``Fixes: <sha>`` trailer (the Linux kernel's convention, ``Fixes: 1234abcd5678 ("subject")``)
  or a ``Fixes <sha>`` reference in the message is an incident of kind ``defect``, severity
  ``low``: something in the change was wrong, and a follow-up repaired it. The severity of either
  is a floor git can tell; a lab that knows better reports the incident itself with the hook.

Only a reference that resolves to a commit of the repository counts (an abbreviated sha of at
least 7 hex digits is resolved by git); a reference to nothing, to the commit itself, or a
revert of a revert (a re-landing, not an error of the original work; a revert is known by git's
line or by its ``Revert "…"`` subject, which a squash merge keeps) is left out. One commit
yields at most one incident per commit it names (a revert that also says ``Fixes:`` is a revert).
``found_by`` is left out: git does not say how the error was found.

``introduced_by_commit`` is the named commit's contribution_id (its origin, as its contribution
event was reported). ``occurred_at``, ``actor`` and ``team`` are the fixing commit's: the error
was known by then. The event_id is a UUIDv5 of the fixing commit's origin and the named commit,
so a rescan, or the hook and a scan, report each incident once.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from autoscope.agents import runtime
from autoscope.agents.git_commits import Commit, git

_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{7,64})", re.IGNORECASE)
_FIXES = re.compile(r"(?:^|\s)Fixes:?\s+([0-9a-f]{7,64})\b", re.IGNORECASE | re.MULTILINE)
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://autoscope.invalid/git-incident")
SEVERITY = {"revert": "medium", "defect": "low"}


class _Reported(Protocol):
    """What a commit's report (``git_hooks.Report``) tells about it."""

    commit: Commit
    origin: str
    team: str | None


@dataclasses.dataclass(frozen=True)
class GitIncident:
    """One revert or fix of an earlier commit."""

    kind: str
    fixing: Commit
    fixing_origin: str
    target: str  # the named commit's full sha
    target_origin: str
    team: str | None

    @property
    def event_id(self) -> str:
        return str(uuid.uuid5(_ID_NAMESPACE, f"{self.fixing_origin}:{self.target_origin}"))

    @property
    def event_severity(self) -> str:
        return SEVERITY[self.kind]

    @property
    def incident_id(self) -> str:
        return f"git:{self.kind}:{self.fixing_origin[:12]}:{self.target_origin[:12]}"


def references(commit: Commit) -> list[tuple[str, str]]:
    """(kind, sha as written) of every revert and fix reference of ``commit``, reverts first."""
    found = [("revert", sha) for sha in _REVERTS.findall(commit.message)]
    found += [("defect", sha) for sha in _FIXES.findall(commit.message)]
    found += [("defect", value.split()[0]) for key, value in commit.trailers if key.lower() == "fixes" and value]
    return [(kind, sha.lower()) for kind, sha in found if re.fullmatch(r"[0-9a-fA-F]{7,64}", sha)]


def _resolve(repo: Path | str, sha: str, known: dict[str, str]) -> str | None:
    """The full sha of ``sha`` if it names a commit of the repository."""
    if sha in known:
        return sha
    prefixed = [full for full in known if full.startswith(sha)]
    if len(prefixed) == 1:
        return prefixed[0]
    try:
        return git(repo, "rev-parse", "--verify", "-q", f"{sha}^{{commit}}").strip() or None
    except subprocess.CalledProcessError:
        return None


def _message_of(repo: Path | str, sha: str) -> str:
    try:
        return git(repo, "log", "-1", "--format=%B", sha)
    except subprocess.CalledProcessError:
        return ""


def _is_revert(message: str) -> bool:
    """``git revert``'s line, or its subject ``Revert "…"`` (kept by a squash merge that drops the line)."""
    return bool(_REVERTS.search(message)) or message.lstrip().startswith('Revert "')


def find_incidents(repo: Path | str, reports: Iterable[_Reported]) -> list[GitIncident]:
    """The reverts and fixes among ``reports`` (the commits of a scan, or the hook's)."""
    reports = list(reports)
    origins = {r.commit.sha: r.origin for r in reports}
    messages = {r.commit.sha: r.commit.message for r in reports}
    out: dict[tuple[str, str], GitIncident] = {}
    for report in reports:
        for kind, written in references(report.commit):
            target = _resolve(repo, written, origins)
            if target is None or target == report.commit.sha:
                continue
            message = messages.get(target) if target in messages else _message_of(repo, target)
            if kind == "revert" and _is_revert(message or ""):
                continue  # a revert of a revert re-lands the work: no error of it
            key = (report.origin, origins.get(target, target))
            if key not in out:  # reverts come first: a revert that also says Fixes is a revert
                out[key] = GitIncident(kind, report.commit, report.origin, target, key[1], report.team)
    return list(out.values())


def incident_event(incident: GitIncident, version: str) -> dict[str, Any]:
    """The ``incident`` event of a revert or fix (built with the hooks' checks, not sent)."""
    from autoscope.agents import hooks

    envelope: dict[str, Any] = {"team": incident.team} if incident.team else {}
    with runtime.capturing() as built:
        hooks.incident.__wrapped__(  # type: ignore[attr-defined]
            incident.kind,
            severity=SEVERITY[incident.kind],
            introduced_by_commit=incident.target_origin,
            incident_id=incident.incident_id,
            event_id=incident.event_id,
            occurred_at=incident.fixing.authored_at,
            actor=incident.fixing.email or runtime.current().settings.actor,
            tool="git",
            **envelope,
        )
    event = built[0]
    event["source"]["version"] = version
    return event
