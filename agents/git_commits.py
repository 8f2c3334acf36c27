"""Reading commits from git: author, trailers, message, lines added/deleted per file, whether a
commit reached the default branch, and where rewritten commits came from.

Lines are ``git log --numstat`` against the first parent, with git's rename detection, so a
moved file is not counted as all-new lines; binary files count no lines. A merge commit's
lines would repeat those of the branch it merges, so merges carry no line counts.

A commit *reached the default branch* when it is reachable from the default branch's tip:
committed there, merged there or rebased onto it. The default branch is ``--default-branch``,
else ``[git] default_branch``, else ``origin/HEAD``, else ``init.defaultBranch``, else ``main``
or ``master`` (whichever exists).

Rewrites: amend, rebase and cherry-pick make a new commit of work that was already reported.
Its *origin* is the first commit that work was recorded under: ``(cherry picked from commit
X)`` lines (``cherry-pick -x``) anywhere, and, in a clone with the hook installed, what git told
the hook (``CHERRY_PICK_HEAD``, the reflog's ``commit (amend)`` and ``post-rewrite``), kept in
``<git-common-dir>/autoscope/rewrites``. A rewritten commit reuses its origin's event_id, so it
is not counted twice.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

_FORMAT = "%x1e%H%x1f%aI%x1f%an%x1f%ae%x1f%P%x1f%(trailers:only,unfold,separator=%x1d)%x1f%B%x1f"
_CHERRY_PICKED = re.compile(r"^\(cherry picked from commit ([0-9a-f]{40})\)\s*$", re.MULTILINE)
_RENAME_BRACES = re.compile(r"\{([^{}]*) => ([^{}]*)\}")


@dataclasses.dataclass(frozen=True)
class FileChange:
    path: str
    added: int
    deleted: int


@dataclasses.dataclass(frozen=True)
class Commit:
    sha: str
    authored_at: str
    name: str
    email: str
    parents: tuple[str, ...]
    trailers: list[tuple[str, str]]
    message: str = ""
    files: tuple[FileChange, ...] = ()

    @property
    def author(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def lines_added(self) -> int | None:
        return None if self.is_merge else sum(f.added for f in self.files)

    @property
    def lines_deleted(self) -> int | None:
        return None if self.is_merge else sum(f.deleted for f in self.files)

    @property
    def cherry_picked_from(self) -> str | None:
        found = _CHERRY_PICKED.findall(self.message)
        return found[-1] if found else None


def git(repo: Path | str, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=300
    ).stdout


def _new_path(path: str) -> str:
    """The path after a rename in numstat's ``a => b`` or ``dir/{a => b}/f`` notation."""
    if " => " not in path:
        return path
    if "{" in path:
        return re.sub(r"/{2,}", "/", _RENAME_BRACES.sub(lambda m: m.group(2), path)).lstrip("/")
    return path.split(" => ", 1)[1]


def _parse(output: str) -> list[Commit]:
    commits = []
    for record in output.split("\x1e"):
        if not record.strip():
            continue
        sha, authored_at, name, email, parents, trailer_text, rest = record.split("\x1f", 6)
        message, _, numstat = rest.rpartition("\x1f")
        trailers = []
        for item in trailer_text.split("\x1d"):
            key, colon, value = item.partition(":")
            if colon and key.strip():
                trailers.append((key.strip(), value.strip()))
        files = []
        for line in numstat.splitlines():
            parts = line.split("\t", 2)
            if len(parts) != 3:
                continue
            added, deleted, path = parts
            files.append(
                FileChange(
                    _new_path(path), int(added) if added.isdigit() else 0, int(deleted) if deleted.isdigit() else 0
                )
            )
        commits.append(
            Commit(sha, authored_at, name, email, tuple(parents.split()), trailers, message.strip("\n"), tuple(files))
        )
    return commits


def read_commits(
    repo: Path | str,
    *,
    rev: str = "HEAD",
    since: str | None = None,
    max_count: int | None = None,
    include_merges: bool = False,
) -> list[Commit]:
    """Commits reachable from ``rev`` (newest first), with their files' line counts."""
    args = ["log", f"--format={_FORMAT}", "--numstat", "-M", rev]
    if since:
        args.append(f"--since={since}")
    if max_count:
        args.append(f"--max-count={max_count}")
    if not include_merges:
        args.append("--no-merges")
    return _parse(git(repo, *args))


def read_commit_list(repo: Path | str, shas: list[str]) -> list[Commit]:
    """The commits ``shas`` (in that order; ones git no longer has are left out)."""
    if not shas:
        return []
    found = {
        c.sha: c
        for c in _parse(git(repo, "log", "--no-walk=unsorted", f"--format={_FORMAT}", "--numstat", "-M", *shas))
    }
    return [found[s] for s in shas if s in found]


def default_branch(repo: Path | str, configured: str | None = None) -> str | None:
    """The default branch's ref (see the module docstring), or None if there is none."""
    candidates = [configured] if configured else []
    try:
        candidates.append(git(repo, "symbolic-ref", "-q", "refs/remotes/origin/HEAD").strip())
    except subprocess.CalledProcessError:
        pass
    try:
        candidates.append(git(repo, "config", "init.defaultBranch").strip())
    except subprocess.CalledProcessError:
        pass
    candidates += ["main", "master"]
    for ref in filter(None, candidates):
        try:
            git(repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
            return ref
        except subprocess.CalledProcessError:
            if ref is configured:
                raise ValueError(f"default branch {configured!r} is not a ref of {repo}") from None
    return None


def reachable_from(repo: Path | str, ref: str | None) -> set[str]:
    """Every commit reachable from ``ref`` (empty without a ref)."""
    return set(git(repo, "rev-list", ref).split()) if ref else set()


def is_ancestor(repo: Path | str, sha: str, ref: str | None) -> bool:
    if not ref:
        return False
    return (
        subprocess.run(
            ["git", "-C", str(repo), "merge-base", "--is-ancestor", sha, ref],
            capture_output=True,
            timeout=60,
            check=False,
        ).returncode
        == 0
    )


def state_dir(repo: Path | str) -> Path:
    """``<git-common-dir>/autoscope``: the hook's queue and the rewrites (shared by worktrees)."""
    common = Path(git(repo, "rev-parse", "--git-common-dir").strip())
    return (common if common.is_absolute() else (Path(repo) / common)).resolve() / "autoscope"


def read_rewrites(repo: Path | str) -> dict[str, str]:
    """new sha → the sha it was rewritten from, as recorded by the hooks of this clone."""
    path = state_dir(repo) / "rewrites"
    rewrites: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1] != "-" and parts[0] != parts[1]:
                rewrites.setdefault(parts[0], parts[1])
    return rewrites


def origin_of(commit: Commit, rewrites: dict[str, str]) -> str:
    """The sha this commit's work was first recorded under (itself if it was not rewritten)."""
    sha = commit.sha
    picked = commit.cherry_picked_from
    if sha not in rewrites and picked:
        sha = picked
    seen = {commit.sha}
    while sha in rewrites and rewrites[sha] not in seen:
        seen.add(sha)
        sha = rewrites[sha]
    return sha
