"""The exporter's counters and its report of problems: what ``agents.stats()`` shows.

Shared by the batch queue (``queued``, ``dropped``) and the delivery policy (the rest);
safe to use from any thread.
"""

from __future__ import annotations

import threading
from typing import Any

from autoscope.agents.error_report import ErrorReport

#: ``handed_off``: events emitted into the tool's own global LoggerProvider (``otel_provider
#: = "global"``): its pipeline delivers them, so they are not counted as sent here
#: ``unauthorized``: events of this process the collector refused for want of a valid token
#: (401/403), kept in the spool until one is set; ``misdirected``: events refused by whatever
#: answers at ``collector_url`` with another status (404, 415 …), kept in the spool too
COUNTERS = (
    "queued",
    "sent",
    "rejected",
    "unauthorized",
    "misdirected",
    "spooled",
    "dropped",
    "errors",
    "retries",
    "handed_off",
)


class Counters:
    """The counters of one exporter and the problems it reported."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTERS, 0)
        self.report = ErrorReport()

    def count(self, name: str, n: int = 1, error: str = "") -> None:
        """Add ``n`` to the counter ``name``; report ``error`` (rate-limited) if given."""
        with self._lock:
            self._counts[name] += n
        if error:
            self.report.report(error)

    def snapshot(self) -> dict[str, Any]:
        """The counters, ``last_error`` and ``last_errors``."""
        with self._lock:
            counts = dict(self._counts)
        return {**counts, "last_error": self.report.last(), "last_errors": self.report.last_errors()}
