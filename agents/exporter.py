"""The hooks' exporter, split as OpenTelemetry splits its own: a batch queue
(``batch_queue.BatchQueue``: bounded, one background thread, batches), a delivery policy
(``delivery.DeliveryPolicy``: retry, split, spool, offline and refused states) and
transports behind one protocol over event dicts (``transport.Transport``:
``native.NativeTransport``, ``otlp.OtlpTransport``). :class:`Exporter` joins the three for
one collector and is what the runtime and ``agents.stats()`` see.

After ``os.fork()`` the child gets a fresh queue, thread, connection and counters: it does
not re-send events the parent had pending.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401  imported before _await_transports is registered
import os
import sys
import threading
import time
import weakref
from typing import Any

from autoscope.agents.batch_queue import BatchQueue
from autoscope.agents.config import Settings
from autoscope.agents.counters import Counters
from autoscope.agents.delivery import DeliveryPolicy

_LIVE: weakref.WeakSet[Exporter] = weakref.WeakSet()


class Exporter:
    """One queue, one background thread and one delivery policy sending to one collector.

    ``token_from_arguments``: the token was given to ``configure()``, so while the collector
    refuses it, it is not replaced by one the environment or file give."""

    def __init__(self, settings: Settings, token_from_arguments: bool = False) -> None:
        self._token_from_arguments = token_from_arguments
        self._reset(settings, closed=False)
        _LIVE.add(self)

    def _reset(self, settings: Settings, closed: bool) -> None:
        """Fresh state: at construction, and in the child after ``fork()``."""
        self._counters = Counters()
        self.report = self._counters.report
        stop = threading.Event()
        self._delivery = DeliveryPolicy(
            settings, self._counters, stop, lambda: self._queue.backlog(), self._token_from_arguments
        )
        self._queue = BatchQueue(
            settings.max_queue_size,
            settings.max_batch_size,
            settings.schedule_delay_s,
            self._counters,
            self._delivery,
            stop,
            closed,
        )

    def _reset_in_child(self) -> None:
        self._reset(self.settings, self._queue.closed)

    @property
    def settings(self) -> Settings:
        """The settings in force (the token may change while the collector refuses one)."""
        return self._delivery.settings

    @property
    def _thread(self) -> threading.Thread | None:
        return self._queue.thread

    def count(self, name: str, n: int = 1, error: str = "") -> None:
        """Add ``n`` to the counter ``name``; report ``error`` (rate-limited) if given."""
        self._counters.count(name, n, error)

    def submit(self, event: dict[str, Any]) -> bool:
        """Enqueue ``event`` without blocking; False (and counted as dropped) if it can't be."""
        return self._queue.submit(event)

    def stats(self) -> dict[str, Any]:
        return {**self._counters.snapshot(), "pending": self._queue.pending()}

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every event submitted so far was sent, rejected or spooled, and try the
        spool once; False if that did not happen within ``timeout_s``."""
        return self._queue.flush(timeout_s)

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Send (or spool) what is pending and stop the thread; later events are dropped."""
        return self._queue.close(self.settings.shutdown_timeout_s if timeout_s is None else timeout_s)


def _flush_at_multiprocessing_exit(exporter: Exporter) -> None:
    """In a ``multiprocessing`` child, which leaves by ``os._exit`` without running atexit:
    flush through its own exit finalizers instead."""
    import multiprocessing.util

    multiprocessing.util.Finalize(exporter, exporter.shutdown, exitpriority=100)


def _reset_in_child() -> None:
    mp_util = sys.modules.get("multiprocessing.util")
    for exporter in list(_LIVE):
        exporter._reset_in_child()
        if mp_util is not None:  # runs if this fork is a multiprocessing Process starting
            mp_util.register_after_fork(exporter, _flush_at_multiprocessing_exit)


def _before_fork() -> None:
    """Don't fork while the background thread imports the OTLP transport (its first moments):
    the child would inherit that module's import lock held, and its own exporter thread
    would wait on it for ever."""
    for exporter in list(_LIVE):
        thread = exporter._thread
        if thread is not None and thread.is_alive():
            exporter._queue.prepared.wait(5.0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_reset_in_child)


def _await_transports(timeout_s: float = 2.0) -> None:
    """At interpreter exit, before threads are joined: let a background thread that is still
    importing the OTLP transport finish. Past this point the interpreter refuses new threads
    and atexit hooks, which a module imported then (protobuf's, OpenTelemetry's) may need."""
    deadline = time.monotonic() + timeout_s
    for exporter in list(_LIVE):
        thread = exporter._thread
        if thread is not None and thread.is_alive():
            exporter._queue.prepared.wait(max(0.0, deadline - time.monotonic()))


# Registered after concurrent.futures.thread (imported above), so this runs before that
# module's own exit hook stops its executors, which OpenTelemetry modules may use at import.
if hasattr(threading, "_register_atexit"):
    threading._register_atexit(_await_transports)
