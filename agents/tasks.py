"""``task(...)``: one unit of work, timed and reported with its outcome.

The handle is a context manager (sync and async), a decorator (of sync and ``async def``
functions: every call is its own task), or driven by hand with ``start()``/``finish()`` for
work that spans callbacks. Outcome: ``success`` when the block ends normally, ``failure``
when it raises an Exception (which propagates unchanged), ``abandoned`` on KeyboardInterrupt,
``asyncio.CancelledError`` or SystemExit; an outcome set on the handle wins over all of these.
"""

from __future__ import annotations

import copy
import functools
import inspect
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, Unpack

from autoscope.agents import events, runtime
from autoscope.agents.event_ids import uuid7
from autoscope.agents.events import EnvelopeArgs

F = TypeVar("F", bound=Callable[..., Any])


class TaskHandle:
    """A task in progress. ``task_id`` is what reviews of this task refer to."""

    def __init__(self, fields: dict[str, Any], envelope: EnvelopeArgs, task_id: Any,
                 duration_s: Any) -> None:
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
        self.start()

    def start(self) -> TaskHandle:
        """(Re)start the clock; the task's ``occurred_at`` is when it started."""
        self._started = time.monotonic()
        self._started_at = events.now()
        return self

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
            self.event_id = _finish_task(self, outcome or self.outcome or "success")
        return self.event_id

    def __enter__(self) -> TaskHandle:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.outcome is None and exc_type is not None:
            self.outcome = "failure" if issubclass(exc_type, Exception) else "abandoned"
        self.finish()  # returns None: an exception of the block propagates unchanged

    async def __aenter__(self) -> TaskHandle:
        return self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.__exit__(exc_type, exc, tb)

    def _fresh(self) -> TaskHandle:
        """A new handle with the same fields, for one call of a decorated function."""
        fresh = copy.copy(self)
        fresh._fields = dict(self._fields)
        fresh.task_id = self.task_id if self._explicit_task_id else uuid7()
        fresh.outcome = None
        fresh.event_id = None
        fresh._finished = False
        return fresh.start()

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


@runtime.guarded
def _finish_task(handle: TaskHandle, outcome: str) -> str | None:
    f = handle._fields
    measured = time.monotonic() - handle._started
    duration = measured if handle._duration_s is None else handle._duration_s
    category = events.choice("category", f.get("category"), events.CATEGORIES)
    fields = {
        "task_id": events.label("task_id", handle.task_id),
        "executor": events.choice("executor", f.get("executor"), events.EXECUTORS),
        "autonomy": events.choice("autonomy", f.get("autonomy"), events.AUTONOMIES),
        "category": category,
        "role": events.choice("role", f.get("role"), events.ROLES),
        "rung": events.choice("rung", f.get("rung"), events.RUNGS),
        "human_minutes": events.number("human_minutes", f.get("human_minutes")),
        "duration_s": events.number("duration_s", duration),
        "outcome": events.choice("outcome", outcome, events.OUTCOMES),
        "family": events.optional_label("family", f.get("family")) or category,
        "model": events.optional_label("model", f.get("model")),
    }
    envelope: EnvelopeArgs = {"occurred_at": handle._started_at, **handle._envelope}
    return runtime.emit("task", fields, envelope)


def task(
    category: str,
    *,
    executor: str = "ai",
    autonomy: str = "supervised",
    role: str = "engineer",
    rung: str = "engineering",
    human_minutes: float,
    family: str | None = None,
    model: str | None = None,
    task_id: str | None = None,
    duration_s: float | None = None,
    **envelope: Unpack[EnvelopeArgs],
) -> TaskHandle:
    """A task of ``category`` that would take a skilled person ``human_minutes``.

    ``duration_s`` overrides the measured duration (backfills, simulations); the envelope
    keywords (``team``, ``actor``, ``occurred_at``, ``event_id``, ``tool``) override the
    configured values. Bad values never raise: they are counted in ``stats()['errors']``
    when the task is reported.
    """
    fields = {
        "category": category, "executor": executor, "autonomy": autonomy, "role": role,
        "rung": rung, "human_minutes": human_minutes, "family": family, "model": model,
    }
    given: EnvelopeArgs = {k: v for k, v in envelope.items() if v is not None}  # type: ignore[assignment]
    try:
        return TaskHandle(fields, given, task_id, duration_s)
    except Exception as exc:  # e.g. a task_id whose str() raises
        runtime.record_error("task", exc)
        return TaskHandle(fields, given, None, duration_s)
