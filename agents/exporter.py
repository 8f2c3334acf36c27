"""The batching exporter, modelled on OpenTelemetry's BatchLogRecordProcessor.

The calling thread only enqueues a dict (``submit``): the queue is bounded and when it is
full the event is dropped and counted, never waited for. A daemon thread takes batches
(``max_batch_size`` events, or what arrived within ``schedule_delay_s``), serializes them and
POSTs them. Retryable answers are retried with backoff, honouring ``Retry-After``; once the
collector has been unreachable for ``spool_after_s`` the batch goes to the local spool, later
batches go straight there (a probe every so often, backing off up to 30 s), and the spool is
re-sent as soon as the collector answers again.

After ``os.fork()`` the child gets a fresh queue, thread, connection and counters: it does
not re-send events the parent had pending.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import sys
import threading
import time
import weakref
from typing import Any

from autoscope.agents.config import Settings
from autoscope.agents.spool import Spool
from autoscope.agents.transport import Reply, Transport

logger = logging.getLogger("autoscope.agents")

COUNTERS = ("queued", "sent", "rejected", "spooled", "dropped", "errors", "retries")
_MAX_BACKOFF_S = 5.0
_MAX_PROBE_INTERVAL_S = 30.0


class _Marker:
    """Put in the queue behind the events a ``flush`` waits for."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_LIVE: weakref.WeakSet[Exporter] = weakref.WeakSet()


class Exporter:
    """One queue and one background thread sending to one collector."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._closed = False
        url_key = hashlib.sha256(settings.collector_url.encode()).hexdigest()[:12]
        self._spool = Spool(settings.spool_dir / url_key, settings.spool_max_bytes)
        self._reset()
        _LIVE.add(self)

    def _reset(self) -> None:
        """Fresh state: at construction, and in the child after ``fork()``."""
        self._queue: queue.Queue[Any] = queue.Queue(self.settings.max_queue_size)
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._last_error = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._transport: Transport | None = None
        self._down_since: float | None = None  # when the collector stopped answering
        self._offline = False  # past spool_after_s: batches go to the spool between probes
        self._probe_at = 0.0
        self._probe_interval_s = 1.0

    # --- calling threads -------------------------------------------------------------
    def count(self, name: str, n: int = 1, error: str = "") -> None:
        with self._lock:
            self._counts[name] += n
            if error:
                self._last_error = error

    def submit(self, event: dict[str, Any]) -> bool:
        """Enqueue ``event`` without blocking; False (and counted as dropped) if it can't be."""
        if self._closed:
            self.count("dropped", error="exporter is shut down")
            return False
        self._ensure_started()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.count("dropped", error="queue full")
            return False
        self.count("queued")
        return True

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    thread = threading.Thread(target=self._run, name="autoscope-exporter", daemon=True)
                    thread.start()
                    self._thread = thread

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self._counts, "pending": self._queue.qsize(), "last_error": self._last_error}

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every event submitted so far was sent, rejected or spooled, and try the
        spool once; False if that did not happen within ``timeout_s``."""
        if self._closed:
            return self._thread is None or not self._thread.is_alive()
        deadline = time.monotonic() + timeout_s
        self._ensure_started()
        marker = _Marker()
        try:
            self._queue.put(marker, timeout=max(timeout_s, 0.001))
        except queue.Full:
            return False
        return marker.done.wait(max(0.0, deadline - time.monotonic()))

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Send (or spool) what is pending and stop the thread; later events are dropped."""
        with self._lock:
            if self._closed:
                return True
            self._closed = True
        thread = self._thread
        if thread is None:
            return True
        self._stop.set()
        try:
            self._queue.put_nowait(_Marker())  # wake the thread if it waits for events
        except queue.Full:
            pass
        thread.join(self.settings.shutdown_timeout_s if timeout_s is None else timeout_s)
        return not thread.is_alive()

    # --- the background thread -------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                if self._step():
                    return
            except Exception as exc:  # a bug here must not stop delivery for good
                logger.exception("autoscope: exporter error")
                self.count("errors", error=f"exporter: {exc!r}")
                time.sleep(0.1)

    def _step(self) -> bool:
        """One batch (and maybe the spool); True when the thread should end."""
        batch, markers = self._collect()
        if batch:
            self._export(batch)
        if markers or self._spool.has_pending():
            self._resend_spool()
        for marker in markers:
            marker.done.set()
        return self._stop.is_set() and self._queue.empty()

    def _collect(self) -> tuple[list[dict[str, Any]], list[_Marker]]:
        batch: list[dict[str, Any]] = []
        deadline: float | None = None
        while len(batch) < self.settings.max_batch_size:
            if self._stop.is_set():
                timeout = 0.0
            elif deadline is None:
                timeout = self.settings.schedule_delay_s
            else:
                timeout = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Marker):
                return batch, [item]
            batch.append(item)
            if deadline is None:
                deadline = time.monotonic() + self.settings.schedule_delay_s
        return batch, []

    def _encode(self, batch: list[dict[str, Any]]) -> list[bytes]:
        lines = []
        for event in batch:
            try:
                lines.append(json.dumps(event, separators=(",", ":"), allow_nan=False).encode())
            except (TypeError, ValueError) as exc:
                self.count("errors", error=f"event not serializable: {exc}")
        return lines

    def _post(self, lines: list[bytes]) -> Reply:
        if self._transport is None:
            try:
                self._transport = Transport(
                    self.settings.collector_url, self.settings.token, self.settings.export_timeout_s
                )
            except ValueError as exc:  # a bad URL: nothing will ever get through
                return Reply(rejected=len(lines), detail=str(exc))
        return self._transport.post(b"[" + b",".join(lines) + b"]", len(lines))

    def _answered(self, reply: Reply) -> None:
        """The collector answered (not retryable): count, and note that it is up."""
        with self._lock:
            self._counts["sent"] += reply.accepted
            self._counts["rejected"] += reply.rejected
            if reply.rejected:
                self._last_error = f"rejected by the collector: {reply.detail}"
        if reply.rejected:
            logger.warning("autoscope: collector rejected %d event(s): %s", reply.rejected, reply.detail)
        self._down_since = None
        self._offline = False
        self._probe_at = 0.0
        self._probe_interval_s = 1.0

    def _unanswered(self, reply: Reply) -> None:
        """A retryable answer: remember since when, and when to try next."""
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
        told = min(reply.retry_after_s or 0.0, self.settings.max_retry_after_s)
        self._probe_at = now + max(self._probe_interval_s, told)
        self._probe_interval_s = min(self._probe_interval_s * 2, _MAX_PROBE_INTERVAL_S)
        with self._lock:
            self._last_error = reply.detail

    def _export(self, batch: list[dict[str, Any]]) -> None:
        lines = self._encode(batch)
        if not lines:
            return
        if self._offline and time.monotonic() < self._probe_at:
            self._to_spool(lines)
            return
        attempt = 0
        while True:
            reply = self._post(lines)
            if not reply.retry:
                self._answered(reply)
                return
            self._unanswered(reply)
            assert self._down_since is not None
            waited = time.monotonic() - self._down_since
            if self._stop.is_set() or self._offline or waited >= self.settings.spool_after_s:
                self._offline = True
                self._to_spool(lines)
                return
            delay = reply.retry_after_s
            if delay is None:
                delay = min(0.25 * 2**attempt, _MAX_BACKOFF_S)
            self.count("retries")
            self._stop.wait(min(delay, self.settings.max_retry_after_s))
            attempt += 1

    def _to_spool(self, lines: list[bytes]) -> None:
        try:
            written = self._spool.write(lines)
        except OSError as exc:
            written = 0
            self.count("errors", error=f"spool: {exc!r}")
        self.count("spooled", written)
        if written < len(lines):
            self.count("dropped", len(lines) - written, error="spool full or unwritable")

    def _resend_spool(self) -> None:
        """Re-send spooled segments until the spool is empty or the collector stops answering."""
        if self._stop.is_set() or time.monotonic() < self._probe_at:
            return
        size = self.settings.max_batch_size
        while (claim := self._spool.claim()) is not None:
            for start in range(0, len(claim.lines), size):
                reply = self._post(claim.lines[start : start + size])
                if reply.retry or self._stop.is_set():
                    if reply.retry:
                        self._unanswered(reply)
                    else:
                        self._answered(reply)
                        start += size
                    self._spool.release(claim, claim.lines[start:])
                    return
                self._answered(reply)
            self._spool.done(claim)


def _flush_at_multiprocessing_exit(exporter: Exporter) -> None:
    """In a ``multiprocessing`` child, which leaves by ``os._exit`` without running atexit:
    flush through its own exit finalizers instead."""
    import multiprocessing.util

    multiprocessing.util.Finalize(exporter, exporter.shutdown, exitpriority=100)


def _reset_in_child() -> None:
    mp_util = sys.modules.get("multiprocessing.util")
    for exporter in list(_LIVE):
        exporter._reset()
        if mp_util is not None:  # runs if this fork is a multiprocessing Process starting
            mp_util.register_after_fork(exporter, _flush_at_multiprocessing_exit)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
