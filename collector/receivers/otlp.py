"""What OTLP/HTTP and OTLP/gRPC share: decoding a request (:mod:`~autoscope.collector.codecs.otlp`),
mapping it, the chain's stages after mapping, and the ``Export*ServiceResponse`` with
``partial_success``.

Mapped events enter the same intake as native ones (limit → validate → restrict →
pseudonymize → spool, :mod:`autoscope.collector.chain`); an
export is answered only after its accepted events are fsync'd. Events the contract rejects
are quarantined and counted in ``partial_success`` per *source record* (a log record, span
or data point), with a message naming the record and the OTLP attribute. Telemetry that maps
to nothing is counted by kind in :class:`OtlpStats`, never an error to the sender. A record
whose mapping raises (a mapping bug, or input nobody foresaw) is counted as failed by kind
and answered as rejected in ``partial_success``; the rest of the export is accepted: an
error status would make the exporter drop (or endlessly retry) the whole batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

from autoscope.collector.chain import Chain
from autoscope.collector.codecs.otlp import Signal
from autoscope.collector.intake import Intake
from autoscope.collector.mapping.identity import missing_identity_message
from autoscope.collector.mapping.mapper import Mapper
from autoscope.collector.mapping.records import MapResult
from autoscope.collector.mapping.series_locks import SeriesLocks
from autoscope.collector.pipeline import Batch, Sender, run
from autoscope.collector.stats import tool_label

log = logging.getLogger(__name__)
MAX_MESSAGES = 5  # rejection reasons quoted in partial_success.error_message
# What the collector drops by design: a record whose mapping raised (its sender is told, in
# partial_success, but OTLP exporters do not re-send rejected records), and a counter
# increment too large to be real (a contribution counter jumping by over 10,000). Accepted
# events are never dropped; refused requests are the sender's to retry.
DROPPED_REASONS = ("mapping_failed", "implausible_count")
#: distinct unmapped names counted; beyond, ``<kind>:other``: names are the senders' choice
MAX_UNMAPPED_NAMES = 1000  # as many as rejected fields (stats.MAX_LABELS); one Codex run alone sends ~250 names
#: distinct tools counted for events without identity; beyond, ``other``
MAX_IDENTITY_TOOLS = 64
#: how often, at most, the log repeats a tool's missing-identity warning while it lasts
IDENTITY_LOG_INTERVAL_S = 600.0


class OtlpStats:
    """Counts of OTLP telemetry by kind: received records per signal, unmapped and superseded
    (mapped from the other source, so not counted twice) records, records whose mapping
    failed, and counter resets."""

    def __init__(self, mapper: Mapper) -> None:
        self._lock = threading.Lock()
        self._mapper = mapper
        self.received: Counter[str] = Counter()
        self.unmapped: Counter[str] = Counter()
        self.superseded: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter(dict.fromkeys(DROPPED_REASONS, 0))
        self.without_identity: Counter[str] = Counter()  # accepted-or-not events by source tool
        self._identity_logged: dict[str, float] = {}  # tool → when its warning was last logged

    def add(self, signal: str, result: MapResult) -> None:
        unidentified = self._unidentified(result)
        with self._lock:
            self.received[signal] += result.records
            for name, count in result.unmapped.items():
                if name not in self.unmapped and len(self.unmapped) >= MAX_UNMAPPED_NAMES:
                    name = f"{name.split(':', 1)[0]}:other"
                self.unmapped[name] += count
            self.superseded.update(result.superseded)
            self.failed.update(failure.kind for failure in result.failed)
            self.dropped["mapping_failed"] += len(result.failed)
            self.dropped.update(result.dropped)
            to_log = []
            now = time.monotonic()
            for tool, count in unidentified.items():
                if tool not in self.without_identity and len(self.without_identity) >= MAX_IDENTITY_TOOLS:
                    tool = "other"
                self.without_identity[tool] += count
                last = self._identity_logged.get(tool)
                if last is None or now - last >= IDENTITY_LOG_INTERVAL_S:
                    self._identity_logged[tool] = now
                    to_log.append((tool, self.without_identity[tool]))
        for tool, total in to_log:
            log.warning("%s", missing_identity_message(tool, total, self._mapper.settings.identity))

    def _unidentified(self, result: MapResult) -> Counter[str]:
        """Mapped events that name no person (the fallback actor, or none), by source tool."""
        fallback = self._mapper.settings.identity.unidentified_actor or None
        counts: Counter[str] = Counter()
        for event in result.events:
            raw = event.raw
            if raw.get("actor", None) == fallback:
                source = raw.get("source")
                counts[tool_label(source.get("tool") if isinstance(source, dict) else None)] += 1
        return counts

    def dropped_snapshot(self) -> dict[str, int]:
        """Records the collector took in and keeps nothing of, by reason (see DROPPED_REASONS)."""
        with self._lock:
            return dict(self.dropped)

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Labelled counters, shaped for ``metrics_routes(extra=...)`` and ``/healthz``."""
        with self._lock:
            return {
                "otlp_records_received": dict(self.received),
                "otlp_unmapped": dict(self.unmapped),
                "otlp_superseded": dict(self.superseded),
                "otlp_mapping_failed": dict(self.failed),
                "otlp_counter_resets": {"sum": self._mapper.state.resets},
                "otlp_events_without_identity": dict(self.without_identity),
            }


class OtlpReceiver:
    """Runs an export request through the chain's OTLP stages and answers it.

    Parameters:
        intake: the collector's shared intake.
        chain: the collector's chain (:mod:`autoscope.collector.chain`): its OTLP decode and map
            stages, then :attr:`~autoscope.collector.chain.Chain.mapped`.
        mapper: the mapping those stages use (its state: cumulative series, counter resets).
    """

    def __init__(self, intake: Intake, chain: Chain, mapper: Mapper) -> None:
        self.intake = intake
        self.chain = chain
        self.mapper = mapper
        self.stats = OtlpStats(mapper)
        self.series_locks = SeriesLocks()

    async def export_body(self, signal: Signal, body: bytes, content_type: str, sender: Sender, source: str) -> Any:
        """Decode ``body`` and export it: the ``Export*ServiceResponse``, or the Refusal of the
        whole request."""
        return await self._export(signal, Batch(body=body, sender=sender, content_type=content_type), source)

    async def export(self, signal: Signal, request: Any, sender: Sender, source: str) -> Any:
        """Export an already decoded request (gRPC): the response, or the Refusal of the whole request."""
        return await self._export(signal, Batch(body=b"", sender=sender, request=request), source)

    async def _export(self, signal: Signal, batch: Batch, source: str) -> Any:
        """The decoded request is let go once it is mapped, before the wait for the spool
        (unless cumulative series need it mapped again): a request's thousands of objects then
        do not sit through that wait, in every request in flight, for the garbage collector to
        walk (measured: its full collections cost ~5 us per record)."""
        map_stage = self.chain.otlp_map[signal.name]
        batch = run((self.chain.otlp_decode[signal.name], map_stage), batch)
        if batch.refusal is not None:
            self.intake.stats.refused(batch.refusal.counted_reason, batch.sender.tool_label)
            return batch.refusal
        if not batch.mapped.series:
            batch.request = None
            return await self._accept(signal, batch, source)
        # cumulative points: map again holding their series, so that no other export of them
        # commits between this one's read of the last points and its own commit
        async with self.series_locks.holding(batch.mapped.series):
            return await self._accept(signal, map_stage(batch), source)

    async def _accept(self, signal: Signal, batch: Batch, source: str) -> Any:
        result: MapResult = batch.mapped
        events = result.events
        if batch.items:
            batch = await self.intake.accept(batch, self.chain.mapped, source)
            if batch.refusal is not None:  # counted by the intake; the mapping state is untouched
                return batch.refusal
        if result.commit is not None:
            result.commit()
        self.stats.add(signal.name, result)
        response = signal.response_type()
        rejected = [(events[item.index], item) for item in batch.items if not item.accepted]
        if rejected or result.failed:
            origins = {event.origin for event, _ in rejected} | {failure.origin for failure in result.failed}
            messages = [f"{failure.where}: could not be mapped ({failure.error})" for failure in result.failed]
            messages += [event.explain(item.error.field, item.error.reason) for event, item in rejected]  # type: ignore[union-attr]
            text = "; ".join(messages[:MAX_MESSAGES])
            if len(messages) > MAX_MESSAGES:
                text += f"; and {len(messages) - MAX_MESSAGES} more"
            setattr(response.partial_success, signal.rejected_field, len(origins))
            response.partial_success.error_message = text
        return response
