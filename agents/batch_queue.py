"""The batch queue, modelled on OpenTelemetry's BatchLogRecordProcessor: the calling thread
only appends an event to a bounded deque; one daemon thread takes batches of up to
``max_batch_size`` and hands each to the :class:`Delivery` (``delivery.DeliveryPolicy``),
which decides how it reaches the collector or the spool.

When the queue is full an event is dropped and counted, never waited for. The thread is
woken when a batch is full, by ``flush``/``close``, or every ``schedule_delay_s``.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Protocol

from autoscope.agents.counters import Counters

logger = logging.getLogger("autoscope.agents")

THREAD_NAME = "autoscope-exporter"


class Delivery(Protocol):
    """What the queue's thread hands batches to."""

    def prepare(self) -> None:
        """On the thread, before the first batch: build what sending needs (imports included)."""

    def export(self, batch: list[dict[str, Any]]) -> None:
        """Deliver ``batch`` or keep it; never loses an event silently."""

    def has_pending(self) -> bool:
        """Whether events kept earlier (the spool) wait to be re-sent."""

    def resend(self) -> None:
        """Re-send kept events, if the collector may take them now."""

    def close(self) -> None:
        """On the thread, as it ends: release connections."""


class _Marker:
    """Put in the queue behind the events a ``flush`` waits for."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class BatchQueue:
    """A bounded queue of events and the one background thread that empties it in batches.

    ``stop`` is set by ``close``: the thread delivers what is queued, then ends (the delivery
    policy reads it too, to stop retrying)."""

    def __init__(
        self,
        max_queue_size: int,
        max_batch_size: int,
        schedule_delay_s: float,
        counters: Counters,
        delivery: Delivery,
        stop: threading.Event,
        closed: bool = False,
    ) -> None:
        self._max_queue_size = max_queue_size
        self._max_batch_size = max_batch_size
        self._schedule_delay_s = schedule_delay_s
        self._counters = counters
        self._delivery = delivery
        self.stop = stop
        self.closed = closed
        # A deque, not a queue.Queue: appending never wakes the background thread (a wake-up
        # per event costs the calling thread a GIL hand-off); it is woken when a batch is full,
        # by flush/close, or by its own timer, as OpenTelemetry's batch processors do.
        self._queue: collections.deque[Any] = collections.deque()
        self._wake = threading.Event()
        self._markers = 0  # flush markers in the queue
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.prepared = threading.Event()  # the thread has prepared its delivery

    # --- calling threads -------------------------------------------------------------
    def submit(self, event: dict[str, Any]) -> bool:
        """Enqueue ``event`` without blocking; False (and counted as dropped) if it can't be."""
        if self.closed:
            self._counters.count(
                "dropped",
                error="an event was emitted after agents.shutdown() or "
                "during interpreter exit: dropped (counted in stats()['dropped'])",
            )
            return False
        self._ensure_started()
        queued = self._queue
        if len(queued) >= self._max_queue_size:
            self._counters.count(
                "dropped",
                error=f"the hooks' queue is full (max_queue_size="
                f"{self._max_queue_size}): events are dropped and counted in "
                "stats()['dropped']; the tool emits faster than they can be sent",
            )
            return False
        queued.append(event)  # atomic: no lock needed among calling threads
        self._counters.count("queued")
        if len(queued) >= self._max_batch_size:
            self._wake.set()
        return True

    def _ensure_started(self) -> None:
        if self.thread is None:
            with self._lock:
                if self.thread is None:
                    thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
                    thread.start()
                    self.thread = thread

    def pending(self) -> int:
        """Events in the queue now."""
        with self._lock:
            return max(0, len(self._queue) - self._markers)

    def backlog(self) -> bool:
        """Whether the queue is half full: time to spool rather than wait for the collector."""
        return len(self._queue) >= self._max_queue_size // 2

    def flush(self, timeout_s: float) -> bool:
        """Wait until every event submitted so far was handed to the delivery, and the delivery
        tried its spool once; False if that did not happen within ``timeout_s``."""
        if self.closed:
            return self.thread is None or not self.thread.is_alive()
        deadline = time.monotonic() + timeout_s
        self._ensure_started()
        marker = _Marker()
        with self._lock:
            self._markers += 1
        self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(max(0.0, deadline - time.monotonic()))

    def close(self, timeout_s: float) -> bool:
        """Deliver what is queued and stop the thread; later events are dropped."""
        with self._lock:
            if self.closed:
                return True
            self.closed = True
        thread = self.thread
        if thread is None:
            return True
        self.stop.set()
        self._wake.set()  # wake the thread if it waits for events
        thread.join(timeout_s)
        return not thread.is_alive()

    # --- the background thread -------------------------------------------------------
    def _run(self) -> None:
        try:  # import and build the transport now, while the tool runs, not at its exit
            self._delivery.prepare()
        except Exception:
            pass  # the delivery tries again at the first batch, and reports
        finally:
            self.prepared.set()
        while True:
            try:
                if self._step():
                    break
            except Exception as exc:  # a bug here must not stop delivery for good
                logger.exception("autoscope: exporter error")
                self._counters.count("errors", error=f"the hooks' exporter failed ({exc!r}); it carries on")
                time.sleep(0.1)
        try:
            self._delivery.close()
        except Exception:
            pass

    def _step(self) -> bool:
        """One batch (and maybe the spool); True when the thread should end."""
        batch, markers = self._collect()
        if batch:
            self._delivery.export(batch)
        if markers or self._delivery.has_pending():
            self._delivery.resend()
        for marker in markers:
            marker.done.set()
        return self.stop.is_set() and not self._queue

    def _collect(self) -> tuple[list[dict[str, Any]], list[_Marker]]:
        """Up to ``max_batch_size`` events, once a batch is full, a flush waits, the thread is
        stopping, or ``schedule_delay_s`` passed; and the flush marker that ended it, if any."""
        size = self._max_batch_size
        if not self.stop.is_set() and not self._markers and len(self._queue) < size:
            self._wake.wait(self._schedule_delay_s)
        self._wake.clear()
        batch: list[dict[str, Any]] = []
        while len(batch) < size:
            try:
                item = self._queue.popleft()
            except IndexError:
                break
            if isinstance(item, _Marker):
                with self._lock:
                    self._markers -= 1
                return batch, [item]
            batch.append(item)
        return batch, []
