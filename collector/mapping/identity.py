"""Who did it, in which team, with which tool: looked up in the record's, then the resource's
attributes, in a configured order of attribute names."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from autoscope.collector.mapping.attributes import as_str


@dataclasses.dataclass(frozen=True)
class IdentitySettings:
    """Parameters:
    actor_attributes: the first one present names the actor (record first, then resource).
    team_attributes: the first one present names the team; ``default_team`` when none is.
    tool_attributes: the tool (``source.tool``); ``default_tool`` when none is.
    version_attributes: the tool's version (``source.version``); ``default_version`` when none.
    """

    actor_attributes: tuple[str, ...] = ("user.email", "user.account_uuid", "user.id", "enduser.id")
    team_attributes: tuple[str, ...] = ("team", "department", "autoscope.team")
    tool_attributes: tuple[str, ...] = ("service.name",)
    version_attributes: tuple[str, ...] = ("service.version", "app.version")
    default_team: str = "unknown"
    default_tool: str = "unknown"
    default_version: str = "unknown"


def lookup(
    names: Sequence[str], record: Mapping[str, Any], resource: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """``(value, attribute name)`` of the first name set on the record, then on the resource."""
    for attributes in (record, resource):
        for name in names:
            value = as_str(attributes.get(name))
            if value:
                return value, name
    return None, None


def envelope(
    settings: IdentitySettings, record: Mapping[str, Any], resource: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The actor/team/source fields of an event, and which attribute each came from.

    A missing actor is left out, so validation rejects the event naming ``$.actor``; the
    returned ``fields`` then explains which attributes were looked for.
    """
    fields: dict[str, str] = {}
    event: dict[str, Any] = {}
    actor, name = lookup(settings.actor_attributes, record, resource)
    if actor is not None:
        event["actor"] = actor
    fields["actor"] = name or " / ".join(settings.actor_attributes)
    team, name = lookup(settings.team_attributes, record, resource)
    event["team"] = team or settings.default_team
    fields["team"] = name or "team (default)"
    tool, tool_name = lookup(settings.tool_attributes, record, resource)
    version, version_name = lookup(settings.version_attributes, record, resource)
    event["source"] = {"tool": tool or settings.default_tool, "version": version or settings.default_version}
    fields["source"] = tool_name or "service.name"
    fields["source.tool"] = tool_name or "service.name"
    fields["source.version"] = version_name or "service.version"
    return event, fields


def _first(names: Sequence[str], attributes: Mapping[str, Any]) -> tuple[str | None, str | None]:
    for name in names:
        value = attributes.get(name)
        if value is not None:
            text = as_str(value)
            if text:
                return text, name
    return None, None


class ResourceIdentity:
    """The identity a resource's attributes give, looked up once per resource rather than
    once per record: what :func:`lookup` falls back to when the record names none.

    Parameters:
        settings: which attributes name the actor, team, tool and version.
        resource: the resource's attributes.
    """

    __slots__ = ("settings", "resource", "names", "actor", "team", "tool", "version")

    def __init__(self, settings: IdentitySettings, resource: Mapping[str, Any]) -> None:
        self.settings = settings
        self.resource = resource
        self.names = frozenset((*settings.actor_attributes, *settings.team_attributes,
                                *settings.tool_attributes, *settings.version_attributes))
        self.actor = _first(settings.actor_attributes, resource)[0]
        self.team = _first(settings.team_attributes, resource)[0] or settings.default_team
        self.tool = _first(settings.tool_attributes, resource)[0] or settings.default_tool
        self.version = _first(settings.version_attributes, resource)[0] or settings.default_version

    def values(self, record: Mapping[str, Any]) -> tuple[str | None, str, str, str]:
        """``(actor, team, tool, version)`` of an event from ``record``'s attributes, the same
        values :func:`envelope` gives (its ``fields`` are left to :func:`envelope`, for errors)."""
        if self.names.isdisjoint(record):
            return self.actor, self.team, self.tool, self.version
        settings = self.settings
        actor = _first(settings.actor_attributes, record)[0] or self.actor
        team = _first(settings.team_attributes, record)[0] or self.team
        tool = _first(settings.tool_attributes, record)[0] or self.tool
        version = _first(settings.version_attributes, record)[0] or self.version
        return actor, team, tool, version
