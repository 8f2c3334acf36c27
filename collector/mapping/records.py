"""The shapes every mapping module shares: one OTLP record in context, and what it maps to."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any


@dataclasses.dataclass
class Record:
    """One log record, span or metric data point, flattened with its context.

    Parameters:
        origin: its position among the request's records of that signal (0-based), which is
            what ``partial_success`` counts.
        where: how an error message names it, e.g. ``log record 3``.
        attributes: the record's (or data point's) attributes.
        resource: the resource's attributes.
        scope: the instrumentation scope's name.
        time_ns: its time (log time, span end, data point time), 0 when unknown.
    """

    origin: int
    where: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    time_ns: int
    name: str = ""  # event name, span operation or metric name
    body: Any = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)  # span ids, start, status


@dataclasses.dataclass
class MappedEvent:
    """A contract dict built from a record, and which OTLP attribute each field came from
    (``fields``: contract field → attribute name) so an error can name the attribute."""

    raw: dict[str, Any]
    origin: int
    where: str
    fields: dict[str, str] = dataclasses.field(default_factory=dict)

    def explain(self, field_path: str, reason: str) -> str:
        """``log record 3: attribute autoscope.human_minutes: <reason>`` for ``$.human_minutes``."""
        field = field_path.removeprefix("$.").removeprefix("$")
        attribute = self.fields.get(field) or self.fields.get(field.split(".")[0])
        if attribute:
            return f"{self.where}: attribute {attribute} ({field_path}): {reason}"
        return f"{self.where}: {field_path}: {reason}"


@dataclasses.dataclass
class MapResult:
    """What one export request maps to."""

    events: list[MappedEvent] = dataclasses.field(default_factory=list)
    records: int = 0
    unmapped: Counter[str] = dataclasses.field(default_factory=Counter)
    superseded: Counter[str] = dataclasses.field(default_factory=Counter)
    commit: Any = None  # called once the events are durable (cumulative metric state)
    series: set[str] = dataclasses.field(default_factory=set)  # cumulative series it read
