"""Counters the collector keeps about itself (served on /healthz, /metrics and /v1/status),
and the shape of the ingester lag it shows."""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Protocol

MAX_LABELS = 1000  # distinct fields counted; beyond, "other" (senders choose unknown field names)
#: distinct tools counted per refusal; beyond, "other": a tool's name in a refused request comes
#: from its User-Agent, which any sender chooses
MAX_TOOLS = 64
_TOOL_LABEL = re.compile(r"[^A-Za-z0-9_.:/+\-]")


def tool_label(tool: str | None) -> str:
    """``tool`` as a short metric label; ``unknown`` when there is none."""
    label = _TOOL_LABEL.sub("_", tool or "")[:64]
    return label or "unknown"


class CollectorStats:
    """Thread-safe counts of accepted events and of rejections by field/reason.

    The rejected field is a metric label, and an unknown field's path is the sender's choice:
    past :data:`MAX_LABELS` distinct ones, new ones count as ``other`` so memory stays bounded.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accepted = 0
        self._rejected: Counter[str] = Counter()
        self._refused: Counter[tuple[str, str]] = Counter()  # (reason, tool)
        self._tools: set[str] = set()

    def accepted(self, count: int) -> None:
        with self._lock:
            self._accepted += count

    def rejected(self, field: str) -> None:
        with self._lock:
            if field not in self._rejected and len(self._rejected) >= MAX_LABELS:
                field = "other"
            self._rejected[field] += 1

    def refused(self, reason: str, tool: str | None = None) -> None:
        """A whole request refused for ``reason`` (a name chosen in the code: bounded), sent
        by ``tool`` (see :func:`~autoscope.collector.receivers.auth.Sender.tool_label`)."""
        label = tool_label(tool)
        with self._lock:
            if label not in self._tools:
                if len(self._tools) >= MAX_TOOLS:
                    label = "other"
                else:
                    self._tools.add(label)
            self._refused[(reason, label)] += 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            by_reason: Counter[str] = Counter()
            by_tool: dict[str, dict[str, int]] = {}
            for (reason, tool), count in self._refused.items():
                by_reason[reason] += count
                by_tool.setdefault(reason, {})[tool] = count
            return {
                "accepted": self._accepted,
                "rejected_by_field": dict(self._rejected),
                "requests_refused": dict(by_reason),
                "requests_refused_by_tool": by_tool,
            }


class IngesterLagReading(Protocol):
    """What the collector shows of the warehouse ingester's Kafka lag (``/metrics``,
    ``/v1/status``): the last background measurement. The collector does not measure it; the
    roof wires in :class:`autoscope.warehouse.lag.IngesterLag`, which the app starts and stops
    with its lifespan."""

    failures: int
    last_error: str | None
    refreshed_at: float | None

    def snapshot(self) -> dict[tuple[str, int], int]: ...

    def consumed(self) -> tuple[dict[int, int], float | None]: ...

    def start(self) -> object: ...

    def stop(self, timeout_s: float = 2.0) -> None: ...
