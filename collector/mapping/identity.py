"""Who did it, in which team, with which tool: looked up in the record's, then the resource's
attributes, in a configured order of attribute names.

The actor is the first attribute of :attr:`IdentitySettings.actor_attributes` that is set, in
that order of preference whether it is on the record or on the resource: a person's email
(``user.email``, which a lab sets in ``OTEL_RESOURCE_ATTRIBUTES``) wins over an account id,
which wins over a user id, which wins over an installation id. That is each client's fallback
(docs/otlp-mapping.md "Identity"): Claude Code gives ``user.email``/``user.account_uuid`` when
logged in and only ``user.id`` (an installation hash) with an API key; Gemini CLI gives only
``installation.id``; Codex CLI gives nothing in API-key mode; the GenAI SDKs give what the
program puts on its resource.

The lab's identity map (``people``: install id or user id → person) then turns a machine's id
into the person it belongs to, before pseudonymization, so one person's Claude Code, Gemini CLI
and git work is one actor.

A record with no identity at all is **kept**, as the actor ``unidentified_actor``
(``unidentified``) of its team, rather than quarantined: the work is real and the team is
known, and counting all of a team's unidentified work as one person can only make its cells
smaller, never reveal anyone (k-anonymity counts it once). The collector counts such events
per tool and says what to set (:func:`missing_identity_message`): on ``/metrics``
(``autoscope_otlp_events_without_identity``), in its log, and in ``autoscope status``. A lab
that prefers quarantine sets ``unidentified_actor = ""``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from autoscope.collector.mapping.attributes import as_str


@dataclasses.dataclass(frozen=True)
class IdentitySettings:
    """Parameters:
    actor_attributes: the first one present names the actor, in this order of preference
        (each looked for on the record, then on the resource).
    team_attributes: the first one present names the team; ``default_team`` when none is.
    tool_attributes: the tool (``source.tool``); ``default_tool`` when none is.
    version_attributes: the tool's version (``source.version``); ``default_version`` when none.
    people: the lab's identity map: an actor attribute's value (an installation id, a user id)
        → the person it belongs to (an email), applied before pseudonymization.
    unidentified_actor: the actor of a record that names none (kept and counted, see the
        module's docstring); ``""`` leaves it out, so validation quarantines it naming ``$.actor``.
    """

    actor_attributes: tuple[str, ...] = (
        "user.email",
        "enduser.id",
        "user.account_uuid",
        "user.account_id",
        "user.id",
        "installation.id",
    )
    team_attributes: tuple[str, ...] = ("team", "department", "autoscope.team")
    tool_attributes: tuple[str, ...] = ("service.name",)
    version_attributes: tuple[str, ...] = ("service.version", "app.version")
    default_team: str = "unknown"
    default_tool: str = "unknown"
    default_version: str = "unknown"
    people: Mapping[str, str] = dataclasses.field(default_factory=dict)
    unidentified_actor: str = "unidentified"

    def __post_init__(self) -> None:
        if not isinstance(self.people, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in self.people.items()
        ):
            raise ValueError(
                'identity.people must map ids to people: a table of strings ("<installation id>" = "<email>")'
            )
        if not isinstance(self.unidentified_actor, str):
            # a ValueError, as every settings error: server_config reports those naming the file
            raise ValueError('identity.unidentified_actor must be a string ("" to quarantine instead)')  # noqa: TRY004

    def person(self, actor: str | None) -> str | None:
        """``actor`` through the lab's identity map."""
        if actor is None or not self.people:
            return actor
        return self.people.get(actor, actor)


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


def ranked(
    names: Sequence[str], record: Mapping[str, Any], resource: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """``(value, attribute name)`` of the first of ``names`` set on the record or the resource:
    the order of ``names`` decides, the record before the resource for each name."""
    for name in names:
        for attributes in (record, resource):
            value = as_str(attributes.get(name))
            if value:
                return value, name
    return None, None


def missing_identity_message(tool: str, count: int, settings: IdentitySettings) -> str:
    """What an operator reads when ``tool``'s records name no person: what to set, and where."""
    kept = (
        f"kept as the actor {settings.unidentified_actor!r} of their team (one person for k-anonymity)"
        if settings.unidentified_actor
        else "quarantined for a missing $.actor"
    )
    return (
        f"{count} event(s) from {tool!r} arrived with no identity attribute (looked for "
        f"{', '.join(settings.actor_attributes)}); they are {kept}. Fix it on the client: "
        "OTEL_RESOURCE_ATTRIBUTES=user.email=<the person's email>,team=<team> in its environment "
        "(docs/otlp-mapping.md has each client's recipe), or map its installation/user id to a person "
        "in [otlp.identity.people] of autoscope.toml."
    )


def envelope(
    settings: IdentitySettings, record: Mapping[str, Any], resource: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The actor/team/source fields of an event, and which attribute each came from.

    A missing actor is left out, so validation rejects the event naming ``$.actor``; the
    returned ``fields`` then explains which attributes were looked for.
    """
    fields: dict[str, str] = {}
    event: dict[str, Any] = {}
    actor, name = ranked(settings.actor_attributes, record, resource)
    if actor is not None:
        event["actor"] = settings.person(actor)
    elif settings.unidentified_actor:
        event["actor"] = settings.unidentified_actor
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

    __slots__ = ("actor", "actor_rank", "names", "resource", "settings", "team", "tool", "version")

    def __init__(self, settings: IdentitySettings, resource: Mapping[str, Any]) -> None:
        self.settings = settings
        self.resource = resource
        self.names = frozenset(
            (
                *settings.actor_attributes,
                *settings.team_attributes,
                *settings.tool_attributes,
                *settings.version_attributes,
            )
        )
        actor, name = _first(settings.actor_attributes, resource)
        # a record's attribute overrides the resource's actor only if it ranks before it, or is
        # the same attribute (the record before the resource, as in :func:`ranked`)
        self.actor_rank = settings.actor_attributes.index(name) + 1 if name else len(settings.actor_attributes)
        self.actor = settings.person(actor) or settings.unidentified_actor or None
        self.team = _first(settings.team_attributes, resource)[0] or settings.default_team
        self.tool = _first(settings.tool_attributes, resource)[0] or settings.default_tool
        self.version = _first(settings.version_attributes, resource)[0] or settings.default_version

    def actor_of(self, record: Mapping[str, Any]) -> str | None:
        """The actor of an event from ``record``'s attributes and the resource's (see :func:`ranked`)."""
        found = _first(self.settings.actor_attributes[: self.actor_rank], record)[0]
        return self.settings.person(found) or self.actor

    def values(self, record: Mapping[str, Any]) -> tuple[str | None, str, str, str]:
        """``(actor, team, tool, version)`` of an event from ``record``'s attributes, the same
        values :func:`envelope` gives (its ``fields`` are left to :func:`envelope`, for errors)."""
        if self.names.isdisjoint(record):
            return self.actor, self.team, self.tool, self.version
        settings = self.settings
        actor = self.actor_of(record)
        team = _first(settings.team_attributes, record)[0] or self.team
        tool = _first(settings.tool_attributes, record)[0] or self.tool
        version = _first(settings.version_attributes, record)[0] or self.version
        return actor, team, tool, version
