"""How many of a merged commit's added lines are still on the default branch one period later:
``line_survival`` events for ``autoscope git scan --survival`` (the merged-code indicator's
survival, docs/indicators.md).

For each commit of a scan that reached the default branch and added lines, and for each period
type the indicator measures (month, quarter): ``as_of`` is the end of the period *after* the
commit's own (its author date, UTC, like its contribution). Where that instant has passed, the
default branch as of then (``git rev-list -1 --first-parent --before=<as_of>``: the branch's own
history, not a merged branch's older commits) is blamed (``git blame --line-porcelain``) for
the files the commit touched, and the lines git attributes to the commit are its surviving
lines. A commit not yet on the branch then (authored before, merged after) gets no event for
that as_of. A line a later commit changed, moved to another file or deleted no longer counts;
git's rename following keeps lines of a file renamed as a whole. A file gone at ``as_of``
has none left.

Each (commit, as_of) is one event with a deterministic id (UUIDv5 of the commit's origin sha
and as_of), so rescans send the same event and the warehouse keeps it once; the sha names the
commit in every clone, so the repository's path is deliberately not part of it. The event is
placed at its commit's time (``occurred_at``): it describes that commit's lines, and so falls
in that commit's period wherever periods are counted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from autoscope.agents.git_commits import git, is_ancestor

_SURVIVAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://autoscope.invalid/git-line-survival")
#: period type → its length in months; survival is counted at the end of the next period
PERIOD_MONTHS = {"month": 1, "quarter": 3}


@dataclasses.dataclass(frozen=True)
class Merged:
    """A commit to count: its sha in this clone, the contribution_id it was reported under (its
    origin), when it was authored, and the files it touched."""

    sha: str
    origin: str
    authored_at: dt.datetime
    paths: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Survival:
    origin: str
    as_of: dt.datetime
    lines_surviving: int

    @property
    def event_id(self) -> str:
        return survival_event_id(self.origin, self.as_of)


def survival_event_id(origin: str, as_of: dt.datetime) -> str:
    """The event_id of a commit's survival at ``as_of``: the same for every scan of any clone."""
    return str(uuid.uuid5(_SURVIVAL_NAMESPACE, f"{origin}/{as_of.astimezone(dt.UTC).isoformat()}"))


def end_of_next_period(moment: dt.datetime, period_type: str) -> dt.datetime:
    """The end of the period after the one ``moment`` (UTC) is in, as the first instant after it."""
    months = PERIOD_MONTHS[period_type]
    moment = moment.astimezone(dt.UTC)
    index = moment.year * 12 + (moment.month - 1) // months * months + 2 * months
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def branch_at(repo: Path | str, branch: str, when: dt.datetime) -> str | None:
    """The default branch's commit as of ``when`` (its first-parent history), None before its first."""
    found = git(repo, "rev-list", "-1", "--first-parent", f"--before={when.isoformat()}", branch).strip()
    return found or None


def blamed_lines(repo: Path | str, rev: str, path: str) -> Counter[str]:
    """Per commit sha, how many lines of ``path`` at ``rev`` git attributes to it (empty when the
    file does not exist there)."""
    try:
        text = git(repo, "blame", "--line-porcelain", rev, "--", path)
    except subprocess.CalledProcessError:
        return Counter()  # not in that revision (deleted, or renamed away)
    counts: Counter[str] = Counter()
    expect_header = True
    for line in text.splitlines():
        if expect_header:
            counts[line.split(" ", 1)[0]] += 1
            expect_header = False
        elif line.startswith("\t"):  # the line's content ends its block
            expect_header = True
    return counts


def survivals(
    repo: Path | str,
    commits: Iterable[Merged],
    branch: str,
    *,
    now: dt.datetime | None = None,
    period_types: Iterable[str] = tuple(PERIOD_MONTHS),
) -> list[Survival]:
    """The survival of each commit's lines at the end of the period after its own, for every
    period type whose end has passed by ``now`` (default: the current time)."""
    now = now or dt.datetime.now(dt.UTC)
    due: dict[dt.datetime, list[Merged]] = defaultdict(list)
    for commit in commits:
        for period_type in period_types:
            as_of = end_of_next_period(commit.authored_at, period_type)
            if as_of <= now:
                due[as_of].append(commit)
    out = []
    for as_of in sorted(due):
        rev = branch_at(repo, branch, as_of)
        blame: dict[str, Counter[str]] = {}
        for commit in due[as_of]:
            if rev is None or not is_ancestor(repo, commit.sha, rev):
                continue  # not on the default branch yet at as_of (merged later): nothing to count
            surviving = 0
            for path in commit.paths:
                if path not in blame:
                    blame[path] = blamed_lines(repo, rev, path)
                surviving += blame[path][commit.sha]
            out.append(Survival(commit.origin, as_of, surviving))
    return out
