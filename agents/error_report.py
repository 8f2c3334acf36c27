"""What the hooks tell a tool's operator about their own failures.

Every distinct problem is logged as a warning on the ``autoscope.agents`` logger the first
time it happens; when the same problem recurs it is logged again at most once per
``interval_s``, saying how often it recurred meanwhile. Distinct means a distinct *message*
(or the ``key`` a caller gives for messages that embed a changing count), not a distinct
exception type: a second, different mistake is never hidden behind a first one of the same
type. The most recent problems are kept, for ``agents.stats()['last_errors']``.

Decision: the log is rate-limited per message rather than once for ever, so a problem that
lasts (a missing token, a collector that stays down) is still visible in a long-running
tool's log an hour later, without a line per event.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from typing import Any

logger = logging.getLogger("autoscope.agents")

#: entries in ``stats()['last_errors']``
KEEP = 10
#: the shortest time between two log lines of one distinct problem
INTERVAL_S = 60.0
#: distinct problems remembered for rate limiting; the least recent is forgotten past it
MAX_KEYS = 256


@dataclasses.dataclass
class _Problem:
    message: str
    count: int
    last_time: float  # wall clock, for the operator
    logged_at: float  # monotonic, for the rate limit
    unlogged: int = 0  # occurrences since the last log line


class ErrorReport:
    """Thread-safe: hooks report from the tool's threads, the exporter from its own."""

    def __init__(self, keep: int = KEEP, interval_s: float = INTERVAL_S, max_keys: int = MAX_KEYS) -> None:
        self.keep = keep
        self.interval_s = interval_s
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._problems: OrderedDict[str, _Problem] = OrderedDict()  # least recent first

    def report(self, message: str, *, key: str | None = None, count: int = 1) -> None:
        """Record ``count`` occurrences of ``message``; log it unless it was logged within
        ``interval_s``. ``key`` groups messages that differ only in numbers they embed."""
        key = key or message
        now = time.monotonic()
        line = ""
        with self._lock:
            problem = self._problems.pop(key, None)
            if problem is None:
                problem = _Problem(message, count, time.time(), now)
                line = message
            else:
                problem.message = message
                problem.count += count
                problem.last_time = time.time()
                problem.unlogged += count
                if now - problem.logged_at >= self.interval_s:
                    line = f"{message} (again {problem.unlogged} time(s) in the last {now - problem.logged_at:.0f} s)"
                    problem.logged_at = now
                    problem.unlogged = 0
            self._problems[key] = problem  # now the most recent
            while len(self._problems) > self.max_keys:
                self._problems.popitem(last=False)
        if line:
            logger.warning("autoscope: %s", line)

    def last(self) -> str:
        """The most recent message, or ""."""
        with self._lock:
            return next(reversed(self._problems.values())).message if self._problems else ""

    def last_errors(self) -> list[dict[str, Any]]:
        """Up to ``keep`` problems, most recent first: ``time`` (ISO 8601, UTC) of the last
        occurrence, ``count`` of occurrences, ``message``."""
        with self._lock:
            recent = list(reversed(self._problems.values()))[: self.keep]
        return [
            {
                "time": dt.datetime.fromtimestamp(p.last_time, dt.UTC).isoformat(timespec="seconds"),
                "count": p.count,
                "message": p.message,
            }
            for p in recent
        ]
