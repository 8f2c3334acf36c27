"""The delivery policy: what the exporter does with each batch and each answer of the
collector (the table is in the README's Reliability section and agents/README.md).

Retryable answers are retried with backoff, honouring ``Retry-After``; once the collector
has been unreachable for ``spool_after_s`` (or the queue is half full) the batch goes to the
local spool, later batches go straight there (a probe every so often, backing off up to
30 s), and the spool is re-sent as soon as the collector answers again. The spool holds JSON
lines whichever the transport, so either can re-send it.

Nothing the collector refuses as a whole is dropped: a batch refused for want of a valid
token (401/403) is kept in the spool, counted as ``unauthorized`` and re-sent once a token
is set (``configure(token=...)``, or ``AUTOSCOPE_TOKEN``/``autoscope.toml``, which are
re-read while the collector refuses); a batch refused by what answers at ``collector_url``
with another status (404, 415 …) is kept too (``misdirected``); a batch too large (413) or
unreadable (400) is split until the collector takes its parts, and only a single event it
still refuses is set aside in the spool's ``refused/`` directory. An event the transport
cannot write (not JSON, not an OTLP attribute value) is split out and set aside the same way.

Only the batch queue's background thread calls a DeliveryPolicy.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from autoscope.agents import config
from autoscope.agents.config import Settings
from autoscope.agents.counters import Counters
from autoscope.agents.spool import spool_for
from autoscope.agents.transport import Refused, Reply, Transport, make_transport

logger = logging.getLogger("autoscope.agents")

Event = dict[str, Any]

_MAX_BACKOFF_S = 5.0
_MAX_PROBE_INTERVAL_S = 30.0
_TOKEN_REREAD_S = 1.0  # while refused for want of a token: how often the environment/file are read
_OFFLINE = "offline"  # why a batch is kept in the spool: the collector does not answer
_KEPT_AS = {_OFFLINE: "spooled", Refused.UNAUTHORIZED: "unauthorized", Refused.MISDIRECTED: "misdirected"}


def spool_line(event: Event) -> bytes:
    """``event`` as a line of the spool. An event JSON cannot hold exactly (NaN, a value of
    another type) is still written, by ``repr``, so that it is kept rather than lost: the
    collector then refuses it, and it is set aside."""
    try:
        return json.dumps(event, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError):
        return json.dumps(event, separators=(",", ":"), default=repr).encode()


class DeliveryPolicy:
    """Sends batches through one :class:`~autoscope.agents.transport.Transport`, retrying,
    splitting, spooling and holding them as the collector's answers say.

    ``token_from_arguments``: the token was given to ``configure()``, so while the collector
    refuses it, it is not replaced by one the environment or file give. ``stop``: the exporter
    is shutting down (no more waiting). ``backlog``: whether the queue is half full (spool
    rather than keep retrying)."""

    def __init__(
        self,
        settings: Settings,
        counters: Counters,
        stop: threading.Event,
        backlog: Callable[[], bool],
        token_from_arguments: bool = False,
    ) -> None:
        self.settings = settings
        self._counters = counters
        self._report = counters.report
        self._stop = stop
        self._backlog = backlog
        self._token_from_arguments = token_from_arguments
        self._spool = spool_for(settings)
        self._transport: Transport | None = None
        self._down_since: float | None = None  # when the collector stopped answering
        self._offline = False  # past spool_after_s: batches go to the spool between probes
        self._held: Refused | None = None  # the collector refuses our batches (401/403, 404 …)
        self._probe_at = 0.0
        self._probe_interval_s = 1.0
        self._token_read_at = 0.0

    # --- the transport ---------------------------------------------------------------
    def prepare(self) -> None:
        self._transport = self._make_transport()

    def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:  # its connection goes with the thread
            transport.close()

    def _make_transport(self) -> Transport:
        """The transport of ``settings.transport``; raises ValueError for a bad URL."""
        transport, problem = make_transport(self.settings)
        if problem:
            self._counters.count("errors", error=problem)
        return transport

    def _post(self, events: list[Event]) -> Reply:
        if self._transport is None:
            try:
                self._transport = self._make_transport()
            except ValueError as exc:  # a bad URL: kept until the hooks are configured with a good one
                return Reply(refused=Refused.MISDIRECTED, detail=str(exc))
        try:
            return self._transport.send(events)
        except Exception as exc:  # never lose a batch to a transport bug: retry / spool it
            return Reply(retry=True, detail=f"transport: {exc!r}")

    # --- what the answers mean -------------------------------------------------------
    def _where(self) -> str:
        return f"the collector at {self.settings.collector_url}"

    def _collector_up(self) -> None:
        """The collector answered and took the batch's events one by one."""
        if self._held is Refused.UNAUTHORIZED:
            logger.info(
                "autoscope: %s accepts the token now; re-sending the events kept in %s",
                self._where(),
                self._spool.directory,
            )
        self._down_since = None
        self._offline = False
        self._held = None
        self._probe_at = 0.0
        self._probe_interval_s = 1.0

    def _answered(self, reply: Reply) -> None:
        """Per-event answers: count them; report the rejected ones."""
        self._counters.count("sent", reply.accepted)
        self._counters.count("rejected", reply.rejected)
        if reply.rejected:
            self._report.report(
                f"{self._where()} rejected {reply.rejected} event(s) ({reply.detail}); it keeps them "
                "in its quarantine (`autoscope quarantine list`); they are not re-sent",
                key=f"rejected:{reply.detail}",
            )

    def _unanswered(self, reply: Reply) -> None:
        """A retryable answer: remember since when, and when to try next."""
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
        told = min(reply.retry_after_s or 0.0, self.settings.max_retry_after_s)
        self._probe_at = now + max(self._probe_interval_s, told)
        self._probe_interval_s = min(self._probe_interval_s * 2, _MAX_PROBE_INTERVAL_S)
        state = "asks to retry later" if reply.detail.startswith("HTTP") else "does not answer"
        self._report.report(
            f"{self._where()} {state} ({reply.detail}); events are retried, kept in the spool "
            f"{self._spool.directory} meanwhile, and re-sent when it answers",
            key=f"unanswered:{reply.detail}",
        )

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
                f"--name {self.settings.tool} --scope ingest`"
            )
        else:
            message = (
                f"{self._where()} does not take Autoscope events ({reply.detail}); {kept} "
                "(counted in stats()['misdirected']) and re-sent when it does: check "
                "AUTOSCOPE_COLLECTOR_URL / agents.configure(collector_url=...) and, for "
                f"transport={self.settings.transport!r}, that it serves "
                f"{'/v1/logs (OTLP/HTTP)' if self.settings.transport == 'otlp' else '/v1/events'}"
            )
        self._report.report(message, key=f"refused:{reply.detail}")

    def _set_aside(self, lines: list[bytes], detail: str) -> None:
        """Events refused on their own (413, 400, not writable): kept locally, never re-sent."""
        try:
            kept = self._spool.set_aside(lines, detail)
        except OSError as exc:
            kept = 0
            self._counters.count("errors", error=f"could not write {self._spool.refused_directory}: {exc!r}")
        self._counters.count("rejected", kept)
        if kept < len(lines):
            self._counters.count("dropped", len(lines) - kept)
        self._report.report(
            f"{self._where()} refused an event on its own ({detail}); it is set aside in "
            f"{self._spool.refused_directory} with the answer and not re-sent",
            key=f"set_aside:{detail}",
        )

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
    def export(self, batch: list[Event]) -> None:
        """A batch from the queue: sent, split, or kept in the spool."""
        held = self._holding()
        if held:
            self._keep(batch, held)
            return
        kept, why = self._send(batch, patient=True)
        if kept:
            self._keep(kept, why)

    def _send(self, events: list[Event], *, patient: bool) -> tuple[list[Event], str]:
        """Send ``events``, halving a batch the collector finds too large or cannot read until
        it takes the parts; the events still to keep in the spool and why, or ``([], "")``.
        ``patient``: retry a collector that does not answer for up to ``spool_after_s``."""
        chunks = [events]
        while chunks:
            chunk = chunks.pop()
            reply = self._post_patiently(chunk) if patient else self._post(chunk)
            rest = chunk + [event for part in reversed(chunks) for event in part]
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
                self._set_aside([spool_line(chunk[0])], reply.detail)
        return [], ""

    def _post_patiently(self, events: list[Event]) -> Reply:
        """Post, retrying retryable answers with backoff (honouring ``Retry-After``) until the
        collector has not answered for ``spool_after_s``, the queue is half full (spool before
        dropping) or the exporter stops; the last answer."""
        attempt = 0
        while True:
            reply = self._post(events)
            if not reply.retry:
                return reply
            self._unanswered(reply)
            assert self._down_since is not None
            waited = time.monotonic() - self._down_since
            if self._stop.is_set() or self._offline or self._backlog() or waited >= self.settings.spool_after_s:
                return reply
            delay = reply.retry_after_s
            if delay is None:
                delay = min(0.25 * 2**attempt, _MAX_BACKOFF_S)
            self._counters.count("retries")
            self._stop.wait(min(delay, self.settings.max_retry_after_s))
            attempt += 1

    def _keep(self, events: list[Event], why: str) -> None:
        """Events of the queue into the spool, counted by why (``_KEPT_AS``)."""
        lines = [spool_line(event) for event in events]
        try:
            written = self._spool.write(lines)
        except OSError as exc:
            written = 0
            self._counters.count("errors", error=f"could not write the spool {self._spool.directory}: {exc!r}")
        self._counters.count(_KEPT_AS[why], written)
        if written < len(lines):
            self._counters.count(
                "dropped",
                len(lines) - written,
                error=f"the spool {self._spool.directory} is full (spool_max_bytes="
                f"{self.settings.spool_max_bytes}) or unwritable: events dropped",
            )

    def has_pending(self) -> bool:
        return self._spool.has_pending()

    def resend(self) -> None:
        """Re-send spooled segments until the spool is empty or the collector stops taking them."""
        if self._stop.is_set() or self._holding() or time.monotonic() < self._probe_at:
            return
        size = self.settings.max_batch_size
        while (claim := self._spool.claim()) is not None:
            events = self._readable(claim.lines)
            for start in range(0, len(events), size):
                kept, _ = self._send(events[start : start + size], patient=False)
                if kept or self._stop.is_set():
                    self._spool.release(claim, [spool_line(event) for event in kept + events[start + size :]])
                    return
            self._spool.done(claim)

    def _readable(self, lines: list[bytes]) -> list[Event]:
        """The events of spool lines; a line that is not a JSON object (a damaged segment) is
        set aside, not re-sent."""
        events: list[Event] = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict):
                events.append(event)
            else:
                self._set_aside([line], "not a JSON object in the spool")
        return events
