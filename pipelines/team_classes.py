"""Team classes: a configurable class per team (e.g. safety, capabilities, infrastructure), so
that every indicator cut by team is cut by class too (GovAI, *Measuring AI R&D Automation*,
arXiv 2603.03992: how productivity differs between safety and other teams).

Decisions (docs/indicators.md, "Team classes"):

* The lab configures classes as class → teams (``[indicators.team_classes]`` of
  ``autoscope.toml``, or ``$AUTOSCOPE_TEAM_CLASSES``: :func:`parse_env`); a team is in at most one
  class. A team in no class is in :data:`UNCLASSIFIED`, so the classes still partition the lab
  cell (every event has exactly one class), which complementary suppression relies on
  (:mod:`autoscope.pipelines.anonymize`), and an unclassified team is never silently dropped from
  the class cut. No classes configured: no ``team_class`` cut at all (it would equal the lab cell).
* The mapping is applied when the indicators are computed, not when events are ingested: the
  events keep their team, and re-classifying a team re-derives every period (the job recomputes
  in full when the mapping differs from the stored release's). The mapping of the stored release
  is kept in the warehouse table ``team_classes`` (:func:`stored`, written with the indicator rows
  in one transaction) and listed in the export manifest, so a release says what its classes held.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb

from autoscope.core.command_line import UserError, config_file

#: the class of a team no class lists
UNCLASSIFIED = "unclassified"
#: the cut name indicator rows carry for a class cell
CUT = "team_class"
ENV = "AUTOSCOPE_TEAM_CLASSES"

#: team → class, as the job carries it (sorted pairs: hashable, and equal for equal mappings)
TeamClasses = tuple[tuple[str, str], ...]


class TeamClassError(ValueError):
    """A class configuration that cannot be used; the message names the team or class."""


def from_classes(classes: Mapping[str, Iterable[str]]) -> TeamClasses:
    """class → teams (as configured) → sorted (team, class) pairs; a team in two classes, an empty
    class or team name, or a class named :data:`UNCLASSIFIED` with teams is refused."""
    pairs: dict[str, str] = {}
    for team_class, teams in classes.items():
        if not isinstance(team_class, str) or not team_class.strip():
            raise TeamClassError(f"team class names must be non-empty text, got {team_class!r}")
        if isinstance(teams, str) or not isinstance(teams, Iterable):
            raise TeamClassError(f"team class {team_class!r}: give a list of teams, got {teams!r}")
        for team in teams:
            if not isinstance(team, str) or not team.strip():
                raise TeamClassError(f"team class {team_class!r}: team names must be non-empty text, got {team!r}")
            if team in pairs and pairs[team] != team_class:
                raise TeamClassError(f"team {team!r} is in two classes: {pairs[team]!r} and {team_class!r}")
            pairs[team] = team_class
    return tuple(sorted(pairs.items()))


def parse_env(text: str) -> TeamClasses:
    """``$AUTOSCOPE_TEAM_CLASSES``: ``class=team,team;class=team`` (``safety=evals,policy;
    capabilities=pretraining,post-training``); an empty value means no classes."""
    classes: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        team_class, sep, teams = part.partition("=")
        if not sep:
            raise TeamClassError(f"{ENV}: {part!r} is not class=team,team (classes are separated by ';')")
        classes.setdefault(team_class.strip(), []).extend(t.strip() for t in teams.split(",") if t.strip())
    return from_classes(classes)


def from_env() -> TeamClasses | None:
    """The classes ``$AUTOSCOPE_TEAM_CLASSES`` sets, None when it is not set."""
    text = os.environ.get(ENV)
    return None if text is None else parse_env(text)


def class_of(team: str | None, mapping: TeamClasses | Mapping[str, str]) -> str:
    """The class of ``team`` (:data:`UNCLASSIFIED` when no class lists it)."""
    return dict(mapping).get(team, UNCLASSIFIED) if team is not None else UNCLASSIFIED


def as_classes(mapping: TeamClasses) -> dict[str, list[str]]:
    """class → its teams (sorted), as the export manifest lists them."""
    out: dict[str, list[str]] = {}
    for team, team_class in mapping:
        out.setdefault(team_class, []).append(team)
    return {c: sorted(t) for c, t in sorted(out.items())}


def class_sql(mapping: TeamClasses, column: str = "team") -> str:
    """A SQL expression: the class of ``column`` under ``mapping``."""
    if not mapping:
        return f"'{UNCLASSIFIED}'"
    quote = lambda s: "'" + s.replace("'", "''") + "'"  # noqa: E731 - a literal, locally
    whens = " ".join(f"WHEN {quote(team)} THEN {quote(team_class)}" for team, team_class in mapping)
    return f"CASE {column} {whens} ELSE '{UNCLASSIFIED}' END"


def stored(conn: duckdb.DuckDBPyConnection) -> TeamClasses:
    """The mapping the stored release was computed with (empty: no classes, or no release yet)."""
    cursor = conn.cursor()
    try:
        rows = cursor.execute("SELECT team, team_class FROM team_classes ORDER BY team").fetchall()
    except duckdb.CatalogException:  # a warehouse not yet migrated: no release, no classes
        return ()
    finally:
        cursor.close()
    return tuple((team, team_class) for team, team_class in rows)


def store(cursor: duckdb.DuckDBPyConnection, mapping: TeamClasses) -> None:
    """Replace the stored mapping (inside the caller's transaction)."""
    cursor.execute("DELETE FROM team_classes")
    if mapping:
        cursor.executemany("INSERT INTO team_classes VALUES (?, ?)", [list(pair) for pair in mapping])


def from_file(path: Path | None) -> TeamClasses | None:
    """The classes ``[indicators.team_classes]`` of the settings file sets (class → list of
    teams), None when the file or the table is absent; an empty table means no classes."""
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise TeamClassError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise TeamClassError(f"{path}: not valid TOML ({exc})") from None
    section = data.get("indicators", {})
    if not isinstance(section, dict) or "team_classes" not in section:
        return None
    table = section["team_classes"]
    if not isinstance(table, dict):
        raise TeamClassError(f"{path}: indicators.team_classes must be a table of class = [teams]")
    try:
        return from_classes(table)
    except TeamClassError as exc:
        raise TeamClassError(f"{path}: indicators.team_classes: {exc}") from None


def configured(config: str | os.PathLike[str] | None = None) -> TeamClasses | None:
    """The team classes in force for a command: ``$AUTOSCOPE_TEAM_CLASSES`` if set, else the
    settings file's (``--config``, ``$AUTOSCOPE_CONFIG``, ./autoscope.toml), else None — the job
    then keeps the stored release's classes, as it keeps its k."""
    env = from_env()
    return env if env is not None else from_file(config_file(config))


def for_command(args: argparse.Namespace) -> TeamClasses | None:
    """:func:`configured` for a command's ``--config``; a bad configuration is the command's
    refusal (:class:`~autoscope.core.command_line.UserError`), naming the file and key."""
    try:
        return configured(getattr(args, "config", None))
    except TeamClassError as exc:
        raise UserError(f"team classes: {exc}") from None
