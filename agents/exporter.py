"""The batching exporter, modelled on OpenTelemetry's BatchLogRecordProcessor.

The calling thread only appends a dict to a deque (``submit``): the queue is bounded and
when it is full the event is dropped and counted, never waited for. A daemon thread, woken
when a batch is full, by ``flush``, or every ``schedule_delay_s``, takes batches of up to
``max_batch_size`` events, serializes them and hands them to the transport: OTLP log records
to ``/v1/logs`` (``otlp``) or a JSON batch to ``/v1/events`` (``native``). Retryable answers
are retried with backoff, honouring ``Retry-After``; once the collector has been unreachable
for ``spool_after_s`` (or the queue is half full) the batch goes to the local spool, later
batches go straight there (a probe every so often, backing off up to 30 s), and the spool is
re-sent as soon as the collector answers again. The spool holds JSON lines whichever the
transport, so either can re-send it.

After ``os.fork()`` the child gets a fresh queue, thread, connection and counters: it does
not re-send events the parent had pending.
"""

from __future__ import annotations

import collections
import concurrent.futures.thread  # noqa: F401  imported before _await_transports is registered
import hashlib
import json
import logging
import os
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from autoscope.agents.config import Settings
from autoscope.agents.spool import Spool
from autoscope.agents.transport import Reply, Transport

if TYPE_CHECKING:
    from autoscope.agents.otlp import OtlpTransport

logger = logging.getLogger("autoscope.agents")

#: ``handed_off``: events emitted into the tool's own global LoggerProvider (``otel_provider
#: = "global"``): its pipeline delivers them, so they are not counted as sent here
COUNTERS = ("queued", "sent", "rejected", "spooled", "dropped", "errors", "retries", "handed_off")
_MAX_BACKOFF_S = 5.0
THREAD_NAME = "autoscope-exporter"
_MAX_PROBE_INTERVAL_S = 30.0


class _Marker:
    """Put in the queue behind the events a ``flush`` waits for."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_LIVE: weakref.WeakSet[Exporter] = weakref.WeakSet()


def make_transport(settings: Settings) -> tuple[Transport | OtlpTransport, str]:
    """The transport of ``settings.transport``, and why it is not that one ("" if it is).
    Raises ValueError for a bad collector URL."""
    native = Transport(settings.collector_url, settings.token, settings.export_timeout_s)
    if settings.transport != "otlp":
        return native, ""
    try:
        from autoscope.agents.otlp import OtlpTransport

        return OtlpTransport(settings), ""
    except Exception as exc:  # the OTLP exporter is missing, or (importing it at interpreter
        # exit) can no longer start its threads: the native path still delivers
        logger.warning("autoscope: OTLP transport unavailable (%r); sending native JSON", exc)
        return native, f"OTLP transport unavailable: {exc!r}"


def spool_for(settings: Settings) -> Spool:
    """The spool of ``settings``' collector: one subdirectory per collector URL."""
    url_key = hashlib.sha256(settings.collector_url.encode()).hexdigest()[:12]
    return Spool(settings.spool_dir / url_key, settings.spool_max_bytes)


class Exporter:
    """One queue and one background thread sending to one collector."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._closed = False
        self._spool = spool_for(settings)
        self._reset()
        _LIVE.add(self)

    def _reset(self) -> None:
        """Fresh state: at construction, and in the child after ``fork()``."""
        # A deque, not a queue.Queue: appending never wakes the background thread (a wake-up
        # per event costs the calling thread a GIL hand-off); it is woken when a batch is full,
        # by flush/shutdown, or by its own timer, as OpenTelemetry's batch processors do.
        self._queue: collections.deque[Any] = collections.deque()
        self._wake = threading.Event()
        self._markers = 0  # flush markers in the queue
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._last_error = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._transport: Transport | OtlpTransport | None = None
        self._down_since: float | None = None  # when the collector stopped answering
        self._offline = False  # past spool_after_s: batches go to the spool between probes
        self._probe_at = 0.0
        self._probe_interval_s = 1.0
        self._prepared = threading.Event()  # the background thread has built its transport

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
        queued = self._queue
        if len(queued) >= self.settings.max_queue_size:
            self.count("dropped", error="queue full")
            return False
        queued.append(event)  # atomic: no lock needed among calling threads
        self.count("queued")
        if len(queued) >= self.settings.max_batch_size:
            self._wake.set()
        return True

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
                    thread.start()
                    self._thread = thread

    def stats(self) -> dict[str, Any]:
        with self._lock:
            pending = len(self._queue) - self._markers
            return {**self._counts, "pending": max(0, pending), "last_error": self._last_error}

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every event submitted so far was sent, rejected or spooled, and try the
        spool once; False if that did not happen within ``timeout_s``."""
        if self._closed:
            return self._thread is None or not self._thread.is_alive()
        deadline = time.monotonic() + timeout_s
        self._ensure_started()
        marker = _Marker()
        with self._lock:
            self._markers += 1
        self._queue.append(marker)
        self._wake.set()
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
        self._wake.set()  # wake the thread if it waits for events
        thread.join(self.settings.shutdown_timeout_s if timeout_s is None else timeout_s)
        return not thread.is_alive()

    # --- the background thread -------------------------------------------------------
    def _run(self) -> None:
        try:  # import and build the transport now, while the tool runs, not at its exit
            self._transport = self._make_transport()
        except Exception:
            pass  # _post tries again and reports
        finally:
            self._prepared.set()
        while True:
            try:
                if self._step():
                    break
            except Exception as exc:  # a bug here must not stop delivery for good
                logger.exception("autoscope: exporter error")
                self.count("errors", error=f"exporter: {exc!r}")
                time.sleep(0.1)
        transport, self._transport = self._transport, None
        if transport is not None:  # its connection (and the OTLP SDK objects) go with the thread
            try:
                transport.close()
            except Exception:
                pass

    def _step(self) -> bool:
        """One batch (and maybe the spool); True when the thread should end."""
        batch, markers = self._collect()
        if batch:
            self._export(batch)
        if markers or self._spool.has_pending():
            self._resend_spool()
        for marker in markers:
            marker.done.set()
        return self._stop.is_set() and not self._queue

    def _collect(self) -> tuple[list[dict[str, Any]], list[_Marker]]:
        """Up to ``max_batch_size`` events, once a batch is full, a flush waits, the thread is
        stopping, or ``schedule_delay_s`` passed; and the flush marker that ended it, if any."""
        size = self.settings.max_batch_size
        if not self._stop.is_set() and not self._markers and len(self._queue) < size:
            self._wake.wait(self.settings.schedule_delay_s)
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

    def _encode(self, batch: list[dict[str, Any]]) -> list[bytes]:
        lines = []
        for event in batch:
            try:
                lines.append(json.dumps(event, separators=(",", ":"), allow_nan=False).encode())
            except (TypeError, ValueError) as exc:
                self.count("errors", error=f"event not serializable: {exc}")
        return lines

    def _make_transport(self) -> Transport | OtlpTransport:
        """The transport of ``settings.transport``; raises ValueError for a bad URL."""
        transport, problem = make_transport(self.settings)
        if problem:
            self.count("errors", error=problem)
        return transport

    def _post(self, lines: list[bytes]) -> Reply:
        if self._transport is None:
            try:
                self._transport = self._make_transport()
            except ValueError as exc:  # a bad URL: nothing will ever get through
                return Reply(rejected=len(lines), detail=str(exc))
        try:
            return self._transport.send(lines)
        except Exception as exc:  # never lose a batch to a transport bug: retry / spool it
            return Reply(retry=True, detail=f"transport: {exc!r}")

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
            backlog = len(self._queue) >= self.settings.max_queue_size // 2  # spool before dropping
            if self._stop.is_set() or self._offline or backlog or waited >= self.settings.spool_after_s:
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


def _before_fork() -> None:
    """Don't fork while the background thread imports the OTLP exporter (its first ~0.2 s):
    the child would inherit that module's import lock held, and its own exporter thread
    would wait on it for ever."""
    for exporter in list(_LIVE):
        thread = exporter._thread
        if thread is not None and thread.is_alive():
            exporter._prepared.wait(5.0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_reset_in_child)


def _await_transports(timeout_s: float = 2.0) -> None:
    """At interpreter exit, before threads are joined: let a background thread that is still
    importing the OTLP exporter finish. Past this point the interpreter refuses new threads
    and atexit hooks, which the OpenTelemetry SDK needs at import (``Resource.create``)."""
    deadline = time.monotonic() + timeout_s
    for exporter in list(_LIVE):
        thread = exporter._thread
        if thread is not None and thread.is_alive():
            exporter._prepared.wait(max(0.0, deadline - time.monotonic()))


# Registered after concurrent.futures.thread (imported above), so this runs before that
# module's own exit hook stops its executors, which the SDK's Resource.create uses.
if hasattr(threading, "_register_atexit"):
    threading._register_atexit(_await_transports)
