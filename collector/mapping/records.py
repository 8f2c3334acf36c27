"""The shapes every mapping module shares: one OTLP record in context, and what it maps to."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

log = logging.getLogger(__name__)
_reported: set[tuple[str, str]] = set()  # (kind, exception type) already logged with a traceback


class Record(msgspec.Struct, gc=False):
    """One log record, span or metric data point, flattened with its context.

    Parameters:
        origin: its position among the request's records of that signal (0-based), which is
            what ``partial_success`` counts.
        where: how an error message names it, e.g. ``log record 3``.
        attributes: the record's (or data point's) attributes.
        resource: the resource's attributes.
        scope: the instrumentation scope's name.
        time_ns: its time (log time, span end, data point time), 0 when unknown.

    Records and mapped events are msgspec Structs left out of the cyclic garbage collector
    (``gc=False``; they never form cycles): an export makes a few of them per record, and
    they live through the wait for the spool, so that every collection in the meantime would
    walk them all (profiled: the collector's full collections cost ~5 us per record).
    """

    origin: int
    where: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    time_ns: int
    name: str = ""  # event name, span operation or metric name
    body: Any = None
    extra: dict[str, Any] = {}  # span ids, start, status (a fresh dict per record)


class MappedEvent(msgspec.Struct, gc=False):
    """A contract dict built from a record, and which OTLP attribute each field came from
    (``fields``: contract field → attribute name) so an error can name the attribute.

    Instead of ``fields``, a mapping may give ``describe`` and its ``record`` and ``settings``:
    ``describe(record, settings)`` then builds ``fields`` only when something asks (an event
    the contract rejects), not for every event mapped.
    """

    raw: dict[str, Any]
    origin: int
    where: str
    _fields: dict[str, str] | None = None
    describe: Callable[[Any, Any], dict[str, str]] | None = None
    record: Any = None
    settings: Any = None

    @property
    def fields(self) -> dict[str, str]:
        if self._fields is None:
            self._fields = self.describe(self.record, self.settings) if self.describe is not None else {}
        return self._fields

    @fields.setter
    def fields(self, value: dict[str, str]) -> None:
        self._fields = value

    def explain(self, field_path: str, reason: str) -> str:
        """``log record 3: attribute autoscope.human_minutes: <reason>`` for ``$.human_minutes``."""
        field = field_path.removeprefix("$.").removeprefix("$")
        fields = self.fields
        attribute = fields.get(field) or fields.get(field.split(".")[0])
        if attribute:
            return f"{self.where}: attribute {attribute} ({field_path}): {reason}"
        return f"{self.where}: {field_path}: {reason}"


@dataclasses.dataclass(frozen=True)
class Failure:
    """A record whose mapping raised: answered as rejected, counted by ``kind``."""

    origin: int
    where: str
    kind: str  # e.g. ``span:gen_ai``: which mapping, never a sender's value
    error: str


@dataclasses.dataclass
class MapResult:
    """What one export request maps to."""

    events: list[MappedEvent] = dataclasses.field(default_factory=list)
    records: int = 0
    unmapped: Counter[str] = dataclasses.field(default_factory=Counter)
    superseded: Counter[str] = dataclasses.field(default_factory=Counter)
    failed: list[Failure] = dataclasses.field(default_factory=list)
    dropped: Counter[str] = dataclasses.field(default_factory=Counter)  # data kept nowhere, by reason
    commit: Any = None  # called once the events are durable (cumulative metric state)
    series: set[str] = dataclasses.field(default_factory=set)  # cumulative series it read

    @contextlib.contextmanager
    def guard(self, record: Record, kind: str, undo: Callable[[], None] | None = None) -> Iterator[None]:
        """Map one record; if its mapping raises, drop what it mapped so far, run ``undo``,
        and record the failure, so that one record a mapping cannot handle (a bug, or input
        nobody foresaw) is answered as rejected while the rest of the export is accepted.
        (The mapper's hot loops do the same with ``try`` and :meth:`fail`, without the
        context manager's cost per record.)"""
        before = len(self.events)
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - any mapping bug: this record only
            self.fail(record, kind, exc, before, undo)

    def fail(
        self, record: Record, kind: str, exc: Exception, before: int, undo: Callable[[], None] | None = None
    ) -> None:
        """What :meth:`guard` does when a record's mapping raised ``exc``: drop the events it
        mapped (those after the first ``before``), run ``undo``, record the failure."""
        del self.events[before:]
        if undo is not None:
            undo()
        self.failed.append(Failure(record.origin, record.where, kind, f"{type(exc).__name__}: {exc}"))
        if (kind, type(exc).__name__) not in _reported:  # a traceback per kind of bug, not per record
            _reported.add((kind, type(exc).__name__))
            # where it failed, not the message: that may quote the sender's attributes
            log.error(
                "mapping a record (%s) raised %s; such records are answered as rejected and counted as failed:\n%s",
                kind,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
