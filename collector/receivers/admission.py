"""The one admission step every receiver takes before reading a request, and rate limits.

:meth:`Admission.admit` is the prologue the native, OTLP/HTTP and OTLP/gRPC receivers share:
a place among the requests in flight (beyond the bound: 429), then the sender's token
(401/403), each refusal counted by reason and tool. Backpressure answers 429 with a short
``Retry-After`` rather than queueing, so memory stays bounded under overload: a request that
is not admitted is not read. The per-sender rate limit needs the batch's size, so it is a
stage of the chain (:func:`limit_rate`), right after decoding.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator, Mapping

from autoscope.collector.pipeline import Batch, Refusal, Sender, Stage
from autoscope.collector.receivers.auth import Authenticator, user_agent_tool
from autoscope.collector.stats import CollectorStats

MAX_RETRY_AFTER_S = 5  # OpenTelemetry exporters give up on waits beyond their ~10 s timeout


class InFlight:
    """Counts requests being processed; refuses beyond ``limit``.

    Parameters:
        limit: requests processed at once; the next one is answered 429.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count = 0
        self._lock = threading.Lock()

    def enter(self) -> Refusal | None:
        with self._lock:
            if self._count >= self.limit:
                return Refusal(429, "requests", f"more than {self.limit} requests in flight", 1)
            self._count += 1
            return None

    def leave(self) -> None:
        with self._lock:
            self._count -= 1


class RateLimiter:
    """A token bucket of events per sender (per token id; ``anonymous`` shares one).

    Parameters:
        events_per_s: sustained rate allowed per sender; None disables the limit.
        burst_s: how many seconds of rate a sender may spend at once.
    """

    def __init__(self, events_per_s: float | None, burst_s: float = 2.0) -> None:
        self.events_per_s = events_per_s
        self.capacity = (events_per_s or 0) * burst_s
        self._buckets: dict[str, tuple[float, float]] = {}  # sender → (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, sender: str, events: int) -> Refusal | None:
        if self.events_per_s is None:
            return None
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(sender, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.events_per_s)
            if events > tokens:
                self._buckets[sender] = (tokens, now)
                wait = math.ceil((events - tokens) / self.events_per_s)
                return Refusal(
                    429,
                    "rate",
                    f"sender over its limit of {self.events_per_s:g} events/s",
                    min(MAX_RETRY_AFTER_S, max(1, wait)),
                )
            self._buckets[sender] = (tokens - events, now)
            return None


def limit_rate(limiter: RateLimiter) -> Stage:
    """The chain's rate-limit stage: refuse (429, ``rate``) a batch over its sender's budget."""

    def limit(batch: Batch) -> Batch:
        sender = batch.sender
        batch.refusal = limiter.take(sender.token_id or sender.name, len(batch.items))
        return batch

    return limit


class Admission:
    """Parameters:
    authenticator: checks the sender's token.
    stats: where refusals are counted, by reason and tool.
    max_in_flight: requests processed at once; the next one is answered 429.
    """

    def __init__(self, authenticator: Authenticator, stats: CollectorStats, max_in_flight: int) -> None:
        self.authenticator = authenticator
        self.stats = stats
        self.in_flight = InFlight(max_in_flight)

    @contextlib.contextmanager
    def admit(self, headers: Mapping[str, str], scope: str = "ingest") -> Iterator[Sender | Refusal]:
        """Within the block, the admitted :class:`Sender` or the (counted) :class:`Refusal`;
        an admitted request holds its place in flight until the block ends."""
        refusal = self.in_flight.enter()
        if refusal is not None:
            yield self.refuse("in_flight", refusal, user_agent_tool(headers))
            return
        try:
            sender = self.authenticator(headers, scope)
            if isinstance(sender, Refusal):
                self.refuse("unauthorized" if sender.status == 401 else "forbidden", sender, sender.tool)
            yield sender
        finally:
            self.in_flight.leave()

    def refuse(self, reason: str, refusal: Refusal, tool: str | None) -> Refusal:
        """Count ``refusal`` under ``reason`` and ``tool``; returns it, for answering."""
        self.stats.refused(reason, tool)
        return refusal
