"""Autoscope's semantic conventions: how one contract event is written as OpenTelemetry
attributes, the inverse of what the collector's OTLP receiver maps back
(``collector/mapping/autoscope_semconv.py``). Tabled in ``docs/semantic-conventions.md``.

* a log record with ``event_name`` and attribute ``event.name`` = ``autoscope.<type>``;
* every contract field flattened under ``autoscope.``: ``autoscope.event_id``,
  ``autoscope.actor``, ``autoscope.team``, ``autoscope.source.tool``,
  ``autoscope.source.version``, ``autoscope.occurred_at`` (ISO-8601) and the type's fields
  (``autoscope.task_id``, ``autoscope.human_minutes``, ``autoscope.tags`` as an array …);
  None values are left out;
* the record's timestamp is ``occurred_at``; the resource carries ``service.name`` /
  ``service.version`` = the tool (the receiver's fallback for ``autoscope.source.*``);
* a task is also a span ``autoscope.task <category>`` with the same attributes, when the tool
  has a tracer provider.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from autoscope.core import contract

PREFIX = "autoscope."
#: the instrumentation scope of every record and span the hooks make
SCOPE = "autoscope.agents"
EVENT_NAME_ATTRIBUTE = "event.name"
#: envelope keys that are not sent as attributes (the type is the event name)
_NOT_ATTRIBUTES = ("type", "schema_version")


def event_name(type_: str) -> str:
    return PREFIX + type_


def to_attributes(event: dict[str, Any]) -> dict[str, Any]:
    """The event's attributes: ``event.name`` and every non-None field under ``autoscope.``."""
    attributes: dict[str, Any] = {EVENT_NAME_ATTRIBUTE: PREFIX + event["type"]}
    for key, value in event.items():
        if value is None or key in _NOT_ATTRIBUTES:
            continue
        if key == "source":
            for sub, sub_value in value.items():
                if sub_value is not None:
                    attributes[f"{PREFIX}source.{sub}"] = sub_value
        elif isinstance(value, (list, tuple)):
            attributes[PREFIX + key] = tuple(value)
        else:
            attributes[PREFIX + key] = value
    return attributes


def timestamp_ns(iso: str) -> int:
    """Unix nanoseconds of an ISO-8601 time with offset (as the hooks write ``occurred_at``)."""
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


#: event type → (field, attribute value type, required) for the docs and the ``emit`` command,
#: read from the contract table (a field with a default is not required of the sender)
FIELDS: dict[str, list[tuple[str, str, bool]]] = {
    type_: [(field.name, field.attribute_type, not field.optional) for field in fields]
    for type_, fields in contract.EVENTS.items()
}


def log_record(event: dict[str, Any], observed_ns: int) -> Any:
    """``event`` as an OpenTelemetry ``LogRecord`` of these conventions."""
    from opentelemetry._logs import LogRecord, SeverityNumber

    return LogRecord(
        timestamp=timestamp_ns(event["occurred_at"]),
        observed_timestamp=observed_ns,
        severity_number=SeverityNumber.INFO,
        severity_text="INFO",
        event_name=event_name(event["type"]),
        attributes=to_attributes(event),
    )
