"""Autoscope's own semantic conventions (what ``autoscope.agents`` hooks emit) → contract dicts.

A log record whose event name (``LogRecord.event_name`` or attribute ``event.name``) is
``autoscope.<type>`` carries each contract field flattened under ``autoscope.``:
``autoscope.event_id``, ``autoscope.actor``, ``autoscope.team``, ``autoscope.source.tool``,
``autoscope.source.version``, ``autoscope.occurred_at`` and the type's fields
(``autoscope.task_id``, ``autoscope.human_minutes``, …; lists as array values). The dict is
handed to validation unchanged, so an unknown or wrong attribute is rejected naming it.

Fallbacks: source from the resource's ``service.name``/``service.version``; actor and team
from the identity attributes; ``occurred_at`` from the record's time; ``event_id`` (hooks
always send one) derived from the record.
"""

from __future__ import annotations

from typing import Any

from autoscope.collector.contract import SCHEMA_VERSION
from autoscope.collector.mapping.attributes import iso_from_nanos, sorted_items, stable_id
from autoscope.collector.mapping.identity import IdentitySettings, ResourceIdentity, envelope
from autoscope.collector.mapping.records import MappedEvent, Record

PREFIX = "autoscope."
_CUT = len(PREFIX)


def event_type(record: Record) -> str | None:
    """The Autoscope event type a log record declares, or None when it is not one of ours."""
    if record.name.startswith(PREFIX):
        return record.name[len(PREFIX):]
    return None


# attribute name -> where its value goes: None (not ours), (False, field) or (True, source field).
# Looked up once per name, not per record; bounded, as the names are the sender's.
_PLANS: dict[str, tuple[bool, str] | None] = {}
_MAX_PLANS = 4096
_UNSEEN = (False, "")


def _plan(key: str) -> tuple[bool, str] | None:
    plan: tuple[bool, str] | None = None
    if key.startswith(PREFIX):
        field = key[_CUT:]
        plan = (True, field[7:]) if field.startswith("source.") else (False, field)
    if len(_PLANS) < _MAX_PLANS:
        _PLANS[key] = plan
    return plan


def map_log(record: Record, identity: IdentitySettings, resource: ResourceIdentity | None = None) -> MappedEvent:
    """The contract dict of one ``autoscope.<type>`` log record.

    Parameters:
        record: the log record.
        identity: which attributes name actor, team and source.
        resource: the record's resource identity, when the caller looked it up once for all
            of its records (the same values either way).
    """
    attrs = record.attributes
    name = record.name
    if resource is None:
        resource = ResourceIdentity(identity, record.resource)
    actor, team, tool, version = resource.values(attrs)
    raw: dict[str, Any] = {"type": name[_CUT:] if name.startswith(PREFIX) else "", "schema_version": SCHEMA_VERSION}
    if actor is not None:
        raw["actor"] = actor
    raw["team"] = team
    source = {"tool": tool, "version": version}
    raw["source"] = source
    plan_of = _PLANS.get
    for key, value in attrs.items():
        plan = plan_of(key, _UNSEEN)
        if plan is _UNSEEN:
            plan = _plan(key)
        if plan is not None:
            if plan[0]:
                source[plan[1]] = value
            else:
                raw[plan[1]] = value
    raw["source"] = source
    if "occurred_at" not in raw:
        occurred = iso_from_nanos(record.time_ns)
        if occurred:
            raw["occurred_at"] = occurred
    if "event_id" not in raw:
        raw["event_id"] = stable_id("log", record.time_ns, record.body, sorted_items(attrs))
    return MappedEvent(raw, record.origin, record.where, describe=log_fields, record=record, settings=identity)


def log_fields(record: Record, identity: IdentitySettings) -> dict[str, str]:
    """Which attribute each field of :func:`map_log`'s dict came from (for error messages)."""
    fields = envelope(identity, record.attributes, record.resource)[1]
    fields["type"] = "event.name"
    for key in record.attributes:
        if key.startswith(PREFIX):
            fields[key[_CUT:]] = key
    fields.setdefault("occurred_at", "time_unix_nano")
    return fields
