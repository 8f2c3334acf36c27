"""Cumulative and delta sums as increments, per the OTel metrics data model.

* Delta points are increments already: each point's value counts once (a re-sent point has the
  same series and window, so its event has the same event_id and is absorbed downstream).
* Cumulative points carry a running total since ``start_time_unix_nano``. The state keeps,
  per series, the last ``(start, time, value)`` seen; a point yields ``value - last value``
  over ``(last time, time]``. A repeated export (same or older time) yields nothing. A *reset*
  is a later start time, or a value below the last one (a counter seen restarting mid-session
  with its start time kept): the increment is then the new value itself.
* The first point of a series counts its whole value (everything since its start).

State changes are made in a :class:`SumTransaction` and applied by :meth:`commit` only once the
request's events are durable; a request refused (e.g. 503) leaves the state as it was, so the
exporter's retry yields the same increments — with the same event ids. Between its reads and
its commit an export holds the locks of its series (:mod:`series_locks`, by
:attr:`SumTransaction.series`), so two exports of one series never start from the same base.

Limitation: the state is in memory; after a collector restart the first point of each
cumulative series counts its whole total again.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Increment:
    """An amount over the window ``(start_ns, end_ns]``; ``reset`` when a counter restarted."""

    amount: float
    start_ns: int
    end_ns: int
    reset: bool = False


class SumState:
    """The last point of each cumulative series (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[str, tuple[int, int, float]] = {}
        self.resets = 0

    def begin(self) -> SumTransaction:
        return SumTransaction(self)

    def last(self, key: str) -> tuple[int, int, float] | None:
        with self._lock:
            return self._series.get(key)

    def _apply(self, updates: dict[str, tuple[int, int, float]], resets: int) -> None:
        with self._lock:
            for key, point in updates.items():
                known = self._series.get(key)
                if known is None or (point[0], point[1]) >= (known[0], known[1]):
                    self._series[key] = point
            self.resets += resets

    def __len__(self) -> int:
        with self._lock:
            return len(self._series)


class SumTransaction:
    """Increments of one request's points; :meth:`commit` makes them the new state."""

    def __init__(self, state: SumState) -> None:
        self.state = state
        self.updates: dict[str, tuple[int, int, float]] = {}
        self.resets = 0
        self.series: set[str] = set()  # every cumulative series read: what to lock

    def delta(self, key: str, start_ns: int, time_ns: int, value: float) -> Increment | None:
        return Increment(value, start_ns, time_ns) if value > 0 else None

    def cumulative(self, key: str, start_ns: int, time_ns: int, value: float) -> Increment | None:
        self.series.add(key)
        previous = self.updates.get(key) or self.state.last(key)
        if previous is None:
            increment = Increment(value, start_ns, time_ns)
        else:
            last_start, last_time, last_value = previous
            if start_ns and last_start and start_ns < last_start:
                return None  # a late point of a series instance that has since restarted
            restarted = bool(start_ns and last_start and start_ns > last_start)
            if not restarted and time_ns <= last_time:
                return None  # the same export again, or an older one
            if restarted or value < last_value:
                increment = Increment(value, start_ns, time_ns, reset=True)
                self.resets += 1
            else:
                increment = Increment(value - last_value, last_time, time_ns)
        self.updates[key] = (start_ns, time_ns, value)
        return increment if increment.amount > 0 else None

    def savepoint(self, key: str) -> Callable[[], None]:
        """An undo of whatever the next point of ``key`` changes in this transaction."""
        had, before, resets = key in self.updates, self.updates.get(key), self.resets

        def undo() -> None:
            if had:
                self.updates[key] = before  # type: ignore[assignment]
            else:
                self.updates.pop(key, None)
            self.resets = resets

        return undo

    def commit(self) -> None:
        self.state._apply(self.updates, self.resets)
