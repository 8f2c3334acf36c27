"""Pieces every mapping shares: the envelope of a mapped event, a record's identity, tasks."""

from __future__ import annotations

import math
from typing import Any

from autoscope.collector.contract import SCHEMA_VERSION
from autoscope.collector.mapping.attributes import (
    as_number,
    as_str,
    iso_from_nanos,
    sorted_items,
    stable_id,
)
from autoscope.collector.mapping.identity import envelope
from autoscope.collector.mapping.records import MappedEvent, MapResult, Record
from autoscope.collector.mapping.settings import OtlpSettings

MAX_UNITS = 10_000  # unit events from one data point's increment


def base_event(
    record: Record, settings: OtlpSettings, kind: str, *identity: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    base, fields = envelope(settings.identity, record.attributes, record.resource)
    occurred = as_str(record.attributes.get("event.timestamp"))
    if occurred:
        fields["occurred_at"] = "event.timestamp"
    else:
        occurred = iso_from_nanos(record.time_ns)
        fields["occurred_at"] = "time_unix_nano"
    event = {"event_id": stable_id(kind, *identity), "schema_version": SCHEMA_VERSION, **base}
    if occurred:  # else validation rejects it, naming time_unix_nano
        event["occurred_at"] = occurred
    return event, fields


def units(amount: float, result: MapResult, kind: str) -> int:
    """How many unit events (commits, decisions …) an increment stands for; an implausible
    count (over :data:`MAX_UNITS`) maps to none and is counted under ``kind``."""
    if not math.isfinite(amount) or amount > MAX_UNITS:
        result.unmapped[f"{kind}(implausible count)"] += 1
        result.dropped["implausible_count"] += 1
        return 0
    return int(round(amount))


def record_identity(record: Record) -> tuple[Any, ...]:
    return (record.time_ns, record.body, sorted_items(record.attributes))


def task_fields_of(record: Record, settings: OtlpSettings) -> tuple[dict[str, Any], dict[str, str]]:
    """Task defaults, each overridable by an ``autoscope.<field>`` attribute."""
    values: dict[str, Any] = {}
    fields: dict[str, str] = {}
    defaults = settings.task_defaults
    for field in ("autonomy", "category", "role", "rung", "human_minutes", "outcome"):
        name = f"autoscope.{field}"
        value = record.attributes.get(name, record.resource.get(name))
        if value is None:
            values[field] = getattr(defaults, field)
            fields[field] = f"task_defaults.{field}"
        else:
            values[field] = as_number(value) if field == "human_minutes" else value
            fields[field] = name
    return values, fields


def task_event(
    record: Record,
    settings: OtlpSettings,
    task_id: str,
    duration_s: float,
    model: str | None,
    kind: str,
    identity: tuple[Any, ...],
) -> MappedEvent:
    """An AI ``task`` with the lab's task defaults (shared with the GenAI mapping)."""
    raw, fields = base_event(record, settings, kind, *identity)
    values, task_fields = task_fields_of(record, settings)
    raw.update(type="task", task_id=task_id, executor="ai", duration_s=duration_s, **values)
    fields.update(task_fields)
    # the size is the lab's configured default unless the record said it: marked, so the
    # indicators can tell how much of what they report about task size was measured
    if task_fields["human_minutes"].startswith("task_defaults."):
        raw["size_source"] = "default"
    else:
        stated = record.attributes.get("autoscope.size_source", record.resource.get("autoscope.size_source"))
        raw["size_source"] = stated if stated is not None else "estimated"
        fields["size_source"] = "autoscope.size_source"
    if model:
        raw["model"] = model
    return MappedEvent(raw, record.origin, record.where, fields)
