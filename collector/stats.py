"""Counters the collector keeps about itself (served on /healthz)."""

from __future__ import annotations

import threading
from collections import Counter


class CollectorStats:
    """Thread-safe counts of accepted events and of rejections by field/reason."""

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
