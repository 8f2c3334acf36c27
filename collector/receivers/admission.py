"""Backpressure before any work: a bound on requests in flight and per-token rate limits.

Both answer 429 with a short ``Retry-After`` rather than queueing, so memory stays bounded
under overload: a request that is not admitted is not read.
"""

from __future__ import annotations

import math
import threading
import time

from autoscope.collector.pipeline import Refusal

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
                    429, "rate",
                    f"sender over its limit of {self.events_per_s:g} events/s",
                    min(MAX_RETRY_AFTER_S, max(1, wait)),
                )
            self._buckets[sender] = (tokens - events, now)
            return None
