"""Which partitions of the events topic one ingester of several reads: a static split.

Several ingesters write one lake (:mod:`autoscope.warehouse.lake`); each partition must have
exactly one writer at a time, or two processes would store the same records side by side.
Ingester ``index`` of ``count`` reads the partitions ``p`` with ``p % count == index``: no
coordinator decides it, so nothing is lost when a member re-joins (the embedded broker's group
coordinator, Tansu 0.6, answers a re-joining member with its first generation's assignment: see
:mod:`autoscope.warehouse.ingester`), and a restarted ingester reads exactly what it read before.

Why not a Kafka group ``subscribe``: on a real Kafka cluster it would move partitions to the
survivors when an ingester dies; here it would lose events on the embedded broker, and with a
static split a dead ingester's partitions wait (lag grows, nothing is lost) until it is back,
which a supervisor (systemd, Kubernetes) does in seconds. docs/deployment.md says when a lab
might prefer a group.

Two processes given the same share (a misconfiguration, or a process thought dead that is not)
cannot both write: the writer checks, inside the batch's transaction, that each partition's
stored position is still the one this ingester last stored or read, and the lake's conflict
detection aborts one of two transactions that commit at once (both rewrite ``kafka_offsets``).
The loser stops with :class:`~autoscope.warehouse.writer.PartitionTaken`
(tests/warehouse/test_lake_fencing.py).
"""

from __future__ import annotations

import dataclasses
import re

_SHARE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclasses.dataclass(frozen=True)
class PartitionShare:
    """Ingester ``index`` (from 0) of ``count``: reads the partitions ``p % count == index``."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"share: the number of ingesters must be at least 1, got {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"share: ingester index must be in 0..{self.count - 1}, got {self.index}")

    @classmethod
    def parse(cls, text: str) -> PartitionShare:
        """``"i/n"`` (ingester i of n, from 0), as ``--share`` takes it."""
        match = _SHARE.match(text)
        if not match:
            raise ValueError(f"share: expected INDEX/COUNT such as 0/2, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def owns(self, partition: int) -> bool:
        return partition % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
