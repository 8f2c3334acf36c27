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
