"""The intake every receiver shares: run a chain of stages, then the sinks.

A receiver (native JSON, OTLP/HTTP, OTLP/gRPC) admits its request
(:class:`~autoscope.collector.receivers.admission.Admission`), turns it into a :class:`Batch`
and hands it to :meth:`Intake.accept` with its chain (:mod:`autoscope.collector.chain`, where
the stages are listed top to bottom). The intake runs the stages, then the sinks: the accepted
events are written durably (the fsync'd spool), the rejected ones to the quarantine; it counts
both, and counts a refusal by reason and tool.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from autoscope.collector import pipeline
from autoscope.collector.contract import Event, encode_events
from autoscope.collector.pipeline import Batch, Refusal, Stage
from autoscope.collector.sinks.quarantine import Quarantine
from autoscope.collector.sinks.spool import Spool, SpoolFull
from autoscope.collector.stats import CollectorStats
from autoscope.core.event_keys import bucket_of

RETRY_AFTER_S = 2  # short: OpenTelemetry exporters drop a batch whose wait exceeds ~10 s


@dataclasses.dataclass(frozen=True)
class Limits:
    """Per-request limits; over them the request is refused with 413 naming the limit."""

    max_body_bytes: int = 8 * 1024 * 1024
    max_events: int = 5000
    events_per_record: int = 500  # events per spool record, and so per Kafka message
    # bytes per spool record: under the broker's message limit (Kafka's default is ~1 MB),
    # or the forwarder could never deliver it and would stall on it
    max_record_bytes: int = 900_000
    max_in_flight: int = 64  # requests processed at once; beyond, 429
    events_per_s_per_token: float | None = None  # None: no per-token rate limit


def spool_records(
    events: Sequence[Event], events_per_record: int, max_record_bytes: int, key_buckets: int = 1
) -> list[bytes]:
    """Accepted events as spool records: JSON arrays of up to ``events_per_record`` events and
    ``max_record_bytes`` bytes, each holding events of one key bucket only, in order within a
    bucket.

    One bucket per record so that the forwarder can send every copy of an event to the same
    Kafka partition, and so to the same ingester (:mod:`autoscope.core.event_keys`). A request
    of n events becomes up to ``min(n, key_buckets)`` records; ``key_buckets`` is the topic's
    partition count.

    A chunk is encoded whole (one msgspec call, the common case) and halved until it fits, so
    large events cost an encoding or two more, never one call per event. A single event over
    the limit stays a record of its own (the contract bounds every field, so it cannot be
    much over).
    """
    records: list[bytes] = []
    buckets: dict[int, list[Event]] = {}
    for event in events:
        buckets.setdefault(bucket_of(event.event_id, key_buckets), []).append(event)
    pending = [
        bucket[i : i + events_per_record]
        for bucket in buckets.values()
        for i in range(0, len(bucket), events_per_record)
    ]
    pending.reverse()  # a stack: the next chunk to encode is last
    while pending:
        chunk = pending.pop()
        record = encode_events(chunk)
        if len(record) <= max_record_bytes or len(chunk) == 1:
            records.append(record)
            continue
        half = len(chunk) // 2
        pending.extend((chunk[half:], chunk[:half]))
    return records


@dataclasses.dataclass
class Intake:
    """Parameters:
    spool: where accepted events are written durably.
    quarantine: where rejected events are kept.
    stats: the collector's counters.
    limits: per-request limits.
    key_buckets: the events topic's partition count: a spool record holds the events of one
        partition (:mod:`autoscope.core.event_keys`).
    """

    spool: Spool
    quarantine: Quarantine
    stats: CollectorStats
    limits: Limits
    key_buckets: int = 1

    async def accept(self, batch: Batch, chain: Sequence[Stage], source: str) -> Batch:
        """Run ``batch`` through ``chain`` and the sinks; on return either ``batch.refusal``
        is set (and counted) or the batch is durable.

        Parameters:
            batch: from an admitted sender (``batch.sender``), with its body or its items.
            chain: the stages, in order (:mod:`autoscope.collector.chain`).
            source: the receiver's name, kept with quarantined events.
        """
        sender = batch.sender
        batch = pipeline.run(chain, batch)
        if batch.refusal is not None:
            self.stats.refused(batch.refusal.counted_reason, sender.tool_label)
            return batch
        accepted = batch.accepted_events()
        rejected = batch.rejected_items() if len(accepted) != len(batch.items) else []
        if accepted:  # sink 1: the spool, from where the forwarder takes them to Kafka
            records = spool_records(
                accepted, self.limits.events_per_record, self.limits.max_record_bytes, self.key_buckets
            )
            try:
                await asyncio.to_thread(self.spool.append, records)
            except SpoolFull as exc:
                tool = sender.tool_label if sender.token_id else accepted[0].source.tool
                self.stats.refused("spool_full", tool)
                batch.refusal = Refusal(503, "spool", f"{exc}; Kafka is behind, retry shortly", RETRY_AFTER_S)
                return batch
        if rejected:  # sink 2: the quarantine, with each event's reason
            await asyncio.to_thread(self.quarantine.keep, batch, source)
        self.stats.accepted(len(accepted))
        for item in rejected:
            self.stats.rejected(item.error.kept_field)  # type: ignore[union-attr]
        return batch
