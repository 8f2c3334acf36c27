"""Locks per cumulative series, so reading a series' last point and committing its new one is
one step for each export.

A cumulative point maps to ``value − last value``; the last value advances only once the
export's events are durable (see :mod:`metrics_state`). Two exports of one series in flight
at once would otherwise both subtract the same last value and count the overlap twice. An
export holds the locks of every series it maps from before it reads the state until it has
committed (or been refused); exports of other series go on in parallel.

The locks are asyncio locks, striped: every export, OTLP/HTTP or OTLP/gRPC, runs on the
app's event loop, and a fixed number of stripes keeps memory flat however many series there
are (two series sharing a stripe only wait for each other).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

STRIPES = 256


class SeriesLocks:
    """Parameters:
    stripes: how many locks the series are spread over.
    """

    def __init__(self, stripes: int = STRIPES) -> None:
        self._locks = [asyncio.Lock() for _ in range(stripes)]

    @contextlib.asynccontextmanager
    async def holding(self, series: Iterable[str]) -> AsyncIterator[None]:
        """Hold the locks of ``series`` (taken in one global order, so two exports never
        wait on each other in a circle)."""
        stripes = sorted({hash(key) % len(self._locks) for key in series})
        held: list[asyncio.Lock] = []
        try:
            for stripe in stripes:
                lock = self._locks[stripe]
                await lock.acquire()
                held.append(lock)
            yield
        finally:
            for lock in reversed(held):
                lock.release()
