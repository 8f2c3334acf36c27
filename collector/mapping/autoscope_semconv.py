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
from autoscope.collector.mapping.identity import IdentitySettings, envelope
from autoscope.collector.mapping.records import MappedEvent, Record

PREFIX = "autoscope."


def event_type(record: Record) -> str | None:
    """The Autoscope event type a log record declares, or None when it is not one of ours."""
    if record.name.startswith(PREFIX):
        return record.name[len(PREFIX):]
    return None


def map_log(record: Record, identity: IdentitySettings) -> MappedEvent:
    type_ = event_type(record) or ""
    base, fields = envelope(identity, record.attributes, record.resource)
    raw: dict[str, Any] = {"type": type_, "schema_version": SCHEMA_VERSION, **base}
    fields["type"] = "event.name"
    source = dict(base["source"])
    for key, value in record.attributes.items():
        if not key.startswith(PREFIX):
            continue
        field = key[len(PREFIX):]
        if field.startswith("source."):
            source[field[len("source."):]] = value
        else:
            raw[field] = value
        fields[field] = key
    raw["source"] = source
    occurred = iso_from_nanos(record.time_ns)
    if "occurred_at" not in raw and occurred:
        raw["occurred_at"] = occurred
    fields.setdefault("occurred_at", "time_unix_nano")
    if "event_id" not in raw:
        raw["event_id"] = stable_id(
            "log", record.time_ns, record.body, sorted_items(record.attributes)
        )
    return MappedEvent(raw, record.origin, record.where, fields)
