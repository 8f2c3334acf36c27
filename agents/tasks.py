"""``task(...)``: one unit of work, timed and reported with its outcome.

The handle is a context manager (sync and async), a decorator (of sync and ``async def``
functions: every call is its own task), or driven by hand with ``start()``/``finish()`` for
work that spans callbacks. Outcome: ``success`` when the block ends normally, ``failure``
when it raises an Exception (which propagates unchanged), ``abandoned`` on KeyboardInterrupt,
``asyncio.CancelledError`` or SystemExit; an outcome set on the handle wins over all of these.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import inspect
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, Unpack

from autoscope.agents import events, otel, runtime
from autoscope.agents.event_ids import uuid7
from autoscope.agents.events import EnvelopeArgs

F = TypeVar("F", bound=Callable[..., Any])


class TaskHandle:
    """A task in progress. ``task_id`` is what reviews of this task refer to."""

    def __init__(self, fields: dict[str, Any], envelope: EnvelopeArgs, task_id: Any, duration_s: Any) -> None:
        self._fields = fields
        self._envelope = envelope
        self._explicit_task_id = task_id is not None
        self.task_id: str = uuid7() if task_id is None else str(task_id)
        self._duration_s = duration_s
        #: set it (or call fail/abandon/succeed) to decide the outcome yourself
        self.outcome: str | None = None
        #: the event's id once finished (None until then, or if it could not be queued)
        self.event_id: str | None = None
        self._finished = False
        self._span: Any = None
        self._token: Any = None
        self._clock()

    def _clock(self) -> None:
        self._started = time.monotonic()
        self._started_at = events.now()
        self._started_ns = time.time_ns()

    def start(self) -> TaskHandle:
        """(Re)start the clock; the task's ``occurred_at`` is when it started. When the tool
        has a tracer provider (and ``task_spans`` is on), the task's span starts here."""
        self._clock()
        self._open_span()
        return self

    def _open_span(self) -> None:
        try:
            if self._span is None and runtime.current().settings.task_spans:
                self._span = otel.start_span(self._fields.get("category"), self._started_ns)
        except Exception as exc:
            runtime.record_error("agents.task() (its span in the tool's tracer)", exc)

    def succeed(self) -> None:
        self.outcome = "success"

    def fail(self) -> None:
        self.outcome = "failure"

    def abandon(self) -> None:
        self.outcome = "abandoned"

    def update(self, **fields: Any) -> None:
        """Change fields learnt during the work, e.g. ``model`` or ``human_minutes``."""
        self._fields.update(fields)

    def finish(self, outcome: str | None = None) -> str | None:
        """Report the task once (later calls return the same id); never raises."""
        if not self._finished:
            self._finished = True
            outcome = outcome or self.outcome or "success"
            event = _finish_task(self, outcome)
            self.event_id = None if event is None else event["event_id"]
            self._close_span(event, outcome)
        return self.event_id

    def _close_span(self, event: dict[str, Any] | None, outcome: str) -> None:
        try:
            if self._token is not None:
                token, self._token = self._token, None
                otel.detach(token)
            span = self._span
            if span is None and runtime.current().settings.task_spans:
                span = otel.start_span(self._fields.get("category"), self._started_ns)
            self._span = None
            if span is not None:
                otel.end_span(span, event, outcome)
        except Exception as exc:
            runtime.record_error("agents.task() (its span in the tool's tracer)", exc)

    def __enter__(self) -> TaskHandle:
        self.start()
        try:
            if self._span is not None:
                self._token = otel.attach(self._span)
        except Exception as exc:
            runtime.record_error("agents.task() (its span in the tool's tracer)", exc)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.outcome is None and exc_type is not None:
            self.outcome = "failure" if issubclass(exc_type, Exception) else "abandoned"
        self.finish()  # returns None: an exception of the block propagates unchanged

    async def __aenter__(self) -> TaskHandle:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def state(self) -> dict[str, Any]:
        """A JSON-serializable snapshot, for finishing the task in another process with
        :func:`resume_task` (work handed over between processes or hosts). Never raises: an
        envelope value that cannot be written down is left out and counted in ``errors``."""
        envelope: dict[str, Any] = {}
        for key, value in self._envelope.items():
            try:
                envelope[key] = events.timestamp(key, value) if key == "occurred_at" else value
            except Exception as exc:
                runtime.record_error("agents.task().state()", exc)
        return {
            "task_id": self.task_id,
            "fields": dict(self._fields),
            "envelope": envelope,
            "started_at": self._started_at.isoformat(),
            "duration_s": self._duration_s,
            "outcome": self.outcome,
        }

    def _fresh(self) -> TaskHandle:
        """A new handle with the same fields, for one call of a decorated function."""
        fresh = copy.copy(self)
        fresh._fields = dict(self._fields)
        fresh.task_id = self.task_id if self._explicit_task_id else uuid7()
        fresh.outcome = None
        fresh.event_id = None
        fresh._finished = False
        fresh._span = fresh._token = None
        fresh._clock()
        return fresh

    def __call__(self, fn: F) -> F:
        """Use as a decorator: every call of ``fn`` is reported as its own task."""
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                async with self._fresh():
                    return await fn(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)

        return run  # type: ignore[return-value]


@runtime.guarded(public="agents.task()")
def _finish_task(handle: TaskHandle, outcome: str) -> dict[str, Any] | None:
    f = handle._fields
    measured = time.monotonic() - handle._started
    duration = measured if handle._duration_s is None else handle._duration_s
    category = events.choice("category", f.get("category"), events.CATEGORIES)
    fields = {
        "task_id": events.label("task_id", handle.task_id),
        "executor": events.choice("executor", f.get("executor") or "unknown", events.TASK_EXECUTORS),
        "autonomy": events.choice("autonomy", f.get("autonomy"), events.AUTONOMIES),
        "category": category,
        "role": events.choice("role", f.get("role"), events.ROLES),
        "rung": events.choice("rung", f.get("rung"), events.RUNGS),
        "human_minutes": events.number("human_minutes", f.get("human_minutes")),
        "duration_s": events.number("duration_s", duration),
        "outcome": events.choice("outcome", outcome, events.OUTCOMES),
        "family": events.optional_label("family", f.get("family")) or category,
        "model": events.optional_label("model", f.get("model")),
        "size_source": events.choice("size_source", f.get("size_source") or "estimated", events.SIZE_SOURCES),
    }
    envelope: EnvelopeArgs = {"occurred_at": handle._started_at, **handle._envelope}
    return runtime.emit_event("task", fields, envelope)


def task(
    category: str,
    *,
    executor: str | None = None,
    autonomy: str = "supervised",
    role: str = "engineer",
    rung: str = "engineering",
    human_minutes: float | None = None,
    family: str | None = None,
    model: str | None = None,
    task_id: str | None = None,
    duration_s: float | None = None,
    size_source: str | None = None,
    **envelope: Unpack[EnvelopeArgs],
) -> TaskHandle:
    """A task of ``category`` that would take a skilled person ``human_minutes``.

    ``executor`` (``ai``, ``human``, ``mixed``) has no default: who did the work is the
    headline indicator, and a default would count every task that forgot to say as that
    executor's. A task without one is sent as ``unknown``: kept and counted, and left out of
    the AI/mixed/human shares (the indicators' ``unknown_share`` says how much).

    ``size_source`` says where ``human_minutes`` came from: ``estimated`` (the default: the
    caller's estimate for this task), ``measured`` (someone timed it) or ``default`` (the
    caller filled in a fixed value of its own); the indicators' ``measured_share`` counts
    the tasks whose size is not a default.

    ``human_minutes`` is required by the contract; it may also be set during the work with
    ``update(human_minutes=...)``. A task finished without it is not sent (counted in
    ``stats()['errors']``), like any other bad value: the hook never raises for it.

    ``duration_s`` overrides the measured duration (backfills, simulations); the envelope
    keywords (``team``, ``actor``, ``occurred_at``, ``event_id``, ``tool``) override the
    configured values. Bad values never raise: they are counted in ``stats()['errors']``
    when the task is reported.
    """
    fields = {
        "category": category,
        "executor": executor,
        "autonomy": autonomy,
        "role": role,
        "rung": rung,
        "human_minutes": human_minutes,
        "family": family,
        "model": model,
        "size_source": size_source,
    }
    given: EnvelopeArgs = {k: v for k, v in envelope.items() if v is not None}  # type: ignore[assignment]
    try:
        return TaskHandle(fields, given, task_id, duration_s)
    except Exception as exc:  # e.g. a task_id whose str() raises
        runtime.record_error("agents.task()", exc)
        return TaskHandle(fields, given, None, duration_s)


def resume_task(state: dict[str, Any]) -> TaskHandle:
    """The task of ``TaskHandle.state()``, e.g. started in another process; ``finish()`` it here.
    Its duration is wall-clock time since it started. Never raises: a bad state is counted in
    ``stats()['errors']`` and gives a handle whose report is refused the same way."""
    try:
        fields = dict(state["fields"])
        handle = TaskHandle(fields, dict(state.get("envelope") or {}), state["task_id"], state.get("duration_s"))
        started_at = events.timestamp("started_at", state["started_at"])
        handle._started_at = dt.datetime.fromisoformat(started_at)
        elapsed = max(0.0, (events.now() - handle._started_at).total_seconds())
        handle._started = time.monotonic() - elapsed
        handle._started_ns = time.time_ns() - int(elapsed * 1e9)
        handle.outcome = state.get("outcome")
        return handle
    except Exception as exc:
        runtime.record_error("agents.resume_task()", exc)
        return TaskHandle({"category": None}, {}, None, None)
