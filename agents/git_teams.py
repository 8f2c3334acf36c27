"""Which team a commit belongs to, so one repository can serve several teams.

In order, the first that gives a team wins:

1. the author (``[git.team_authors]``: identity → team; identities as in
   :mod:`~autoscope.agents.git_authorship`, e.g. ``"ada@lab.example" = "infra"``);
2. the paths the commit changes, like CODEOWNERS: ``[git.team_paths]`` (pattern → team) and/or
   a file named by ``[git] team_map`` or ``--team-map`` with one ``pattern team`` a line
   (``#`` comments). Patterns are gitignore patterns (as CODEOWNERS'); the last pattern that
   matches a file wins. A commit touching several teams' files goes to the team with most
   changed lines (added + deleted), ties to the team named first;
3. ``--team`` (of ``git scan`` or of the installed hook);
4. the configured team (``AUTOSCOPE_TEAM`` / ``autoscope.toml``), as for every event.

An AI agent or bot commit is placed the same way; ``team_authors`` rarely applies to it, so
paths decide (an agent works for whichever team owns what it changed).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pathspec

from autoscope.agents.config import read_config_file
from autoscope.agents.git_authorship import entry_key, identity_keys
from autoscope.agents.git_commits import Commit


@dataclasses.dataclass(frozen=True)
class TeamMap:
    authors: dict[str, str] = dataclasses.field(default_factory=dict)  # identity key → team
    paths: tuple[tuple[pathspec.PathSpec, str, str], ...] = ()  # (spec, pattern, team)
    default: str | None = None

    def team_of(self, commit: Commit) -> tuple[str | None, str]:
        """(team or None for the configured one, why)."""
        for key in sorted(identity_keys(commit.name, commit.email)):
            if key in self.authors:
                return self.authors[key], f"author mapped ({key})"
        if self.paths:
            lines: dict[str, int] = defaultdict(int)
            order: dict[str, int] = {}
            for change in commit.files:
                team = self.path_team(change.path)
                if team is not None:
                    lines[team] += change.added + change.deleted
                    order.setdefault(team, len(order))
            if lines:
                team = max(lines, key=lambda t: (lines[t], -order[t]))
                return team, f"paths ({lines[team]} changed lines)"
        if self.default:
            return self.default, "--team"
        return None, "configured team"

    def path_team(self, path: str) -> str | None:
        team = None
        for spec, _pattern, owner in self.paths:
            if spec.match_file(path):
                team = owner
        return team


def parse_team_file(text: str) -> list[tuple[str, str]]:
    """(pattern, team) of each ``pattern team`` line; a line without a team is an error."""
    pairs = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2:
            raise ValueError(f"line {number}: {raw.strip()!r} names no team (expected 'pattern team')")
        pairs.append((parts[0], parts[-1].lstrip("@")))
    return pairs


def load_team_map(
    team: str | None = None, team_map: str | Path | None = None, config: dict[str, Any] | None = None
) -> TeamMap:
    """The team map of ``autoscope.toml``'s ``[git]`` table, the ``team_map`` file and ``--team``."""
    section = (read_config_file() if config is None else config).get("git", {})
    section = section if isinstance(section, dict) else {}
    authors = {entry_key(str(k)): str(v) for k, v in dict(section.get("team_authors", {})).items()}
    pairs: list[tuple[str, str]] = [(str(k), str(v)) for k, v in dict(section.get("team_paths", {})).items()]
    file = team_map or section.get("team_map")
    if file:
        pairs += parse_team_file(Path(file).read_text())
    return TeamMap(authors, _specs(pairs), team)


def _specs(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[pathspec.PathSpec, str, str], ...]:
    return tuple((pathspec.PathSpec.from_lines("gitwildmatch", [pattern]), pattern, team) for pattern, team in pairs)
