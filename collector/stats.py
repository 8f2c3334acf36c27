"""Counters the collector keeps about itself (served on /healthz)."""

from __future__ import annotations

import threading
from collections import Counter


MAX_LABELS = 1000  # distinct fields counted; beyond, "other" (senders choose unknown field names)


class CollectorStats:
    """Thread-safe counts of accepted events and of rejections by field/reason.

    The rejected field is a metric label, and an unknown field's path is the sender's choice:
    past :data:`MAX_LABELS` distinct ones, new ones count as ``other`` so memory stays bounded.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accepted = 0
        self._rejected: Counter[str] = Counter()
        self._refused: Counter[str] = Counter()

    def accepted(self, count: int) -> None:
        with self._lock:
            self._accepted += count

    def rejected(self, field: str) -> None:
        with self._lock:
            if field not in self._rejected and len(self._rejected) >= MAX_LABELS:
                field = "other"
            self._rejected[field] += 1

    def refused(self, reason: str) -> None:
        with self._lock:
            self._refused[reason] += 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "accepted": self._accepted,
                "rejected_by_field": dict(self._rejected),
                "requests_refused": dict(self._refused),
            }
