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

Nothing the collector refuses as a whole is dropped (the table of answers is in
agents/README.md): a batch refused for want of a valid token (401/403) is kept in the spool,
counted as ``unauthorized`` and re-sent once a token is set (``configure(token=...)``, or
``AUTOSCOPE_TOKEN``/``autoscope.toml``, which are re-read while the collector refuses); a
batch too large (413) or unreadable (400) is split until the collector takes its parts, and
only a single event it still refuses is set aside in the spool's ``refused/`` directory.

After ``os.fork()`` the child gets a fresh queue, thread, connection and counters: it does
not re-send events the parent had pending.
"""

from __future__ import annotations

import collections
import concurrent.futures.thread  # noqa: F401  imported before _await_transports is registered
import dataclasses
import hashlib
import json
import logging
import os
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from autoscope.agents import config
from autoscope.agents.config import Settings
from autoscope.agents.error_report import ErrorReport
from autoscope.agents.spool import Spool
from autoscope.agents.transport import Refused, Reply, Transport, user_agent

if TYPE_CHECKING:
    from autoscope.agents.otlp import OtlpTransport

logger = logging.getLogger("autoscope.agents")

#: ``handed_off``: events emitted into the tool's own global LoggerProvider (``otel_provider
#: = "global"``): its pipeline delivers them, so they are not counted as sent here
#: ``unauthorized``: events of this process the collector refused for want of a valid token
#: (401/403), kept in the spool until one is set; ``misdirected``: events refused by whatever
#: answers at ``collector_url`` with another status (404, 415 …), kept in the spool too
COUNTERS = ("queued", "sent", "rejected", "unauthorized", "misdirected", "spooled", "dropped",
            "errors", "retries", "handed_off")
_MAX_BACKOFF_S = 5.0
THREAD_NAME = "autoscope-exporter"
_MAX_PROBE_INTERVAL_S = 30.0
_TOKEN_REREAD_S = 1.0  # while refused for want of a token: how often the environment/file are read
_OFFLINE = "offline"  # why a batch is kept in the spool: the collector does not answer
_KEPT_AS = {_OFFLINE: "spooled", Refused.UNAUTHORIZED: "unauthorized", Refused.MISDIRECTED: "misdirected"}


class _Marker:
    """Put in the queue behind the events a ``flush`` waits for."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_LIVE: weakref.WeakSet[Exporter] = weakref.WeakSet()


def make_transport(settings: Settings) -> tuple[Transport | OtlpTransport, str]:
    """The transport of ``settings.transport``, and why it is not that one ("" if it is).
    Raises ValueError for a bad collector URL."""
    native = Transport(settings.collector_url, settings.token, settings.export_timeout_s,
                       user_agent(settings.tool))
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
    """One queue and one background thread sending to one collector.

    ``token_from_arguments``: the token was given to ``configure()``, so while the collector
    refuses it, it is not replaced by one the environment or file give."""

    def __init__(self, settings: Settings, token_from_arguments: bool = False) -> None:
        self.settings = settings
        self._token_from_arguments = token_from_arguments
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
        self.report = ErrorReport()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._transport: Transport | OtlpTransport | None = None
        self._down_since: float | None = None  # when the collector stopped answering
        self._offline = False  # past spool_after_s: batches go to the spool between probes
        self._held: Refused | None = None  # the collector refuses our batches (401/403, 404 …)
        self._probe_at = 0.0
        self._probe_interval_s = 1.0
        self._token_read_at = 0.0
        self._prepared = threading.Event()  # the background thread has built its transport

    # --- calling threads -------------------------------------------------------------
    def count(self, name: str, n: int = 1, error: str = "") -> None:
        """Add ``n`` to the counter ``name``; report ``error`` (rate-limited) if given."""
        with self._lock:
            self._counts[name] += n
        if error:
            self.report.report(error)

    def submit(self, event: dict[str, Any]) -> bool:
        """Enqueue ``event`` without blocking; False (and counted as dropped) if it can't be."""
        if self._closed:
            self.count("dropped", error="an event was emitted after agents.shutdown() or during "
                       "interpreter exit: dropped (counted in stats()['dropped'])")
            return False
        self._ensure_started()
        queued = self._queue
        if len(queued) >= self.settings.max_queue_size:
            self.count("dropped", error=f"the hooks' queue is full (max_queue_size="
                       f"{self.settings.max_queue_size}): events are dropped and counted in "
                       "stats()['dropped']; the tool emits faster than they can be sent")
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
            counts = dict(self._counts)
        return {**counts, "pending": max(0, pending), "last_error": self.report.last(),
                "last_errors": self.report.last_errors()}

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
                self.count("errors", error=f"the hooks' exporter failed ({exc!r}); it carries on")
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
                self.count("errors", error=f"a {event.get('type', '')} event could not be written "
                           f"as JSON and was not sent: {exc}")
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
            except ValueError as exc:  # a bad URL: kept until the hooks are configured with a good one
                return Reply(refused=Refused.MISDIRECTED, detail=str(exc))
        try:
            return self._transport.send(lines)
        except Exception as exc:  # never lose a batch to a transport bug: retry / spool it
            return Reply(retry=True, detail=f"transport: {exc!r}")

    # --- what the answers mean -------------------------------------------------------
    def _where(self) -> str:
        return f"the collector at {self.settings.collector_url}"

    def _collector_up(self) -> None:
        """The collector answered and took the batch's events one by one."""
        if self._held is Refused.UNAUTHORIZED:
            logger.info("autoscope: %s accepts the token now; re-sending the events kept in %s",
                        self._where(), self._spool.directory)
        self._down_since = None
        self._offline = False
        self._held = None
        self._probe_at = 0.0
        self._probe_interval_s = 1.0

    def _answered(self, reply: Reply) -> None:
        """Per-event answers: count them; report the rejected ones."""
        with self._lock:
            self._counts["sent"] += reply.accepted
            self._counts["rejected"] += reply.rejected
        if reply.rejected:
            self.report.report(
                f"{self._where()} rejected {reply.rejected} event(s) ({reply.detail}); it keeps them "
                "in its quarantine (`autoscope quarantine list`); they are not re-sent",
                key=f"rejected:{reply.detail}")

    def _unanswered(self, reply: Reply) -> None:
        """A retryable answer: remember since when, and when to try next."""
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
        told = min(reply.retry_after_s or 0.0, self.settings.max_retry_after_s)
        self._probe_at = now + max(self._probe_interval_s, told)
        self._probe_interval_s = min(self._probe_interval_s * 2, _MAX_PROBE_INTERVAL_S)
        state = "asks to retry later" if reply.detail.startswith("HTTP") else "does not answer"
        self.report.report(
            f"{self._where()} {state} ({reply.detail}); events are retried, kept in the spool "
            f"{self._spool.directory} meanwhile, and re-sent when it answers",
            key=f"unanswered:{reply.detail}")

    def _refused(self, reply: Reply) -> None:
        """The whole batch refused for a reason configuration fixes: hold batches in the
        spool, probing now and then (and at once when the token changes)."""
        self._held = reply.refused
        self._probe_at = time.monotonic() + self._probe_interval_s
        self._probe_interval_s = min(self._probe_interval_s * 2, _MAX_PROBE_INTERVAL_S)
        kept = f"the events are kept in the spool {self._spool.directory}"
        if reply.refused is Refused.UNAUTHORIZED:
            sent_with = "a token" if self.settings.token else "no token"
            message = (
                f"{self._where()} refused events sent with {sent_with} ({reply.detail}); {kept} "
                "(counted in stats()['unauthorized']) and re-sent once a valid token with the "
                "ingest scope is set: set AUTOSCOPE_TOKEN (or token in autoscope.toml) or call "
                "agents.configure(token=...); an operator creates one with `autoscope token create "
                f"--name {self.settings.tool} --scope ingest`")
        else:
            message = (
                f"{self._where()} does not take Autoscope events ({reply.detail}); {kept} "
                "(counted in stats()['misdirected']) and re-sent when it does: check "
                "AUTOSCOPE_COLLECTOR_URL / agents.configure(collector_url=...) and, for "
                f"transport={self.settings.transport!r}, that it serves "
                f"{'/v1/logs (OTLP/HTTP)' if self.settings.transport == 'otlp' else '/v1/events'}")
        self.report.report(message, key=f"refused:{reply.detail}")

    def _set_aside(self, lines: list[bytes], reply: Reply) -> None:
        """One event the collector refuses on its own (413, 400): kept locally, never re-sent."""
        try:
            kept = self._spool.set_aside(lines, reply.detail)
        except OSError as exc:
            kept = 0
            self.count("errors", error=f"could not write {self._spool.refused_directory}: {exc!r}")
        self.count("rejected", kept)
        if kept < len(lines):
            self.count("dropped", len(lines) - kept)
        self.report.report(
            f"{self._where()} refused an event on its own ({reply.detail}); it is set aside in "
            f"{self._spool.refused_directory} with the answer and not re-sent",
            key=f"set_aside:{reply.detail}")

    def _token_changed(self) -> bool:
        """While refused for want of a token: whether the environment or ``autoscope.toml``
        now give another token; if so it is used from now on."""
        if self._token_from_arguments:
            return False  # configure(token=...) again makes a new exporter
        now = time.monotonic()
        if now - self._token_read_at < _TOKEN_REREAD_S:
            return False
        self._token_read_at = now
        token = config.configured_token()  # an unreadable file is logged there, and gives None
        if token == self.settings.token:
            return False
        self.settings = dataclasses.replace(self.settings, token=token)
        if self._transport is not None:  # its headers carry the old token
            self._transport.close()
            self._transport = None
        self._held = None
        self._probe_at = 0.0
        self._probe_interval_s = 1.0
        return True

    def _holding(self) -> str:
        """Why batches go straight to the spool now (offline, or refused until the next
        probe), or "" when they are to be sent."""
        if self._held is Refused.UNAUTHORIZED and self._token_changed():
            return ""
        if (self._offline or self._held) and time.monotonic() < self._probe_at:
            return self._held or _OFFLINE
        return ""

    # --- sending ---------------------------------------------------------------------
    def _export(self, batch: list[dict[str, Any]]) -> None:
        lines = self._encode(batch)
        if not lines:
            return
        held = self._holding()
        if held:
            self._keep(lines, held)
            return
        kept, why = self._send(lines, patient=True)
        if kept:
            self._keep(kept, why)

    def _send(self, lines: list[bytes], *, patient: bool) -> tuple[list[bytes], str]:
        """Send ``lines``, halving a batch the collector finds too large or cannot read until
        it takes the parts; the lines still to keep in the spool and why, or ``([], "")``.
        ``patient``: retry a collector that does not answer for up to ``spool_after_s``."""
        chunks = [lines]
        while chunks:
            chunk = chunks.pop()
            reply = self._post_patiently(chunk) if patient else self._post(chunk)
            rest = chunk + [line for part in reversed(chunks) for line in part]
            if reply.retry:
                if patient:  # it retried already: batches go to the spool until the next probe
                    self._offline = True
                else:
                    self._unanswered(reply)
                return rest, _OFFLINE
            if reply.refused in (Refused.UNAUTHORIZED, Refused.MISDIRECTED):
                self._refused(reply)
                return rest, reply.refused  # type: ignore[return-value]
            self._collector_up()
            if reply.refused is None:
                self._answered(reply)
            elif len(chunk) > 1:  # too large or unreadable: in halves, down to the one event at fault
                half = len(chunk) // 2
                chunks += [chunk[half:], chunk[:half]]
            else:
                self._set_aside(chunk, reply)
        return [], ""

    def _post_patiently(self, lines: list[bytes]) -> Reply:
        """Post, retrying retryable answers with backoff (honouring ``Retry-After``) until the
        collector has not answered for ``spool_after_s``, the queue is half full (spool before
        dropping) or the exporter stops; the last answer."""
        attempt = 0
        while True:
            reply = self._post(lines)
            if not reply.retry:
                return reply
            self._unanswered(reply)
            assert self._down_since is not None
            waited = time.monotonic() - self._down_since
            backlog = len(self._queue) >= self.settings.max_queue_size // 2
            if self._stop.is_set() or self._offline or backlog or waited >= self.settings.spool_after_s:
                return reply
            delay = reply.retry_after_s
            if delay is None:
                delay = min(0.25 * 2**attempt, _MAX_BACKOFF_S)
            self.count("retries")
            self._stop.wait(min(delay, self.settings.max_retry_after_s))
            attempt += 1

    def _keep(self, lines: list[bytes], why: str) -> None:
        """Events of the queue into the spool, counted by why (``_KEPT_AS``)."""
        try:
            written = self._spool.write(lines)
        except OSError as exc:
            written = 0
            self.count("errors", error=f"could not write the spool {self._spool.directory}: {exc!r}")
        self.count(_KEPT_AS[why], written)
        if written < len(lines):
            self.count("dropped", len(lines) - written,
                       error=f"the spool {self._spool.directory} is full (spool_max_bytes="
                       f"{self.settings.spool_max_bytes}) or unwritable: events dropped")

    def _resend_spool(self) -> None:
        """Re-send spooled segments until the spool is empty or the collector stops taking them."""
        if self._stop.is_set() or self._holding() or time.monotonic() < self._probe_at:
            return
        size = self.settings.max_batch_size
        while (claim := self._spool.claim()) is not None:
            for start in range(0, len(claim.lines), size):
                kept, _ = self._send(claim.lines[start : start + size], patient=False)
                if kept or self._stop.is_set():
                    self._spool.release(claim, kept + claim.lines[start + size :])
                    return
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
