"""The chain's OTLP stages: map an export request's records to events, and bound their number."""

from __future__ import annotations

import logging
from typing import Any

from autoscope.collector.codecs.otlp import Signal
from autoscope.collector.mapping.mapper import Mapper
from autoscope.collector.mapping.records import Failure, MapResult
from autoscope.collector.pipeline import Batch, Item, Refusal, Stage

log = logging.getLogger(__name__)


def map_records(signal: Signal, mapper: Mapper) -> Stage:
    """``batch.request`` → ``batch.mapped`` (the mapping's result) and one item per mapped event.

    A mapping that raises outside its records (a mapping bug, or input nobody foresaw) fails
    every record of the export, counted and answered in ``partial_success``, never raised.
    """

    def map_otlp(batch: Batch) -> Batch:
        result = map_request(signal, mapper, batch.request)
        batch.mapped = result
        batch.items = [Item(i, event.raw) for i, event in enumerate(result.events)]
        return batch

    return map_otlp


def map_request(signal: Signal, mapper: Mapper, request: Any) -> MapResult:
    try:
        return getattr(mapper, signal.map_method)(request)
    except Exception as exc:  # noqa: BLE001 - outside any one record: every record failed
        log.error("mapping an OTLP %s export raised %s outside its records", signal.name, type(exc).__name__)
        error = f"could not map the {signal.name} export ({type(exc).__name__})"
        count = count_records(signal, request)
        return MapResult(
            records=count,
            failed=[Failure(i, f"{signal.name} record {i}", f"{signal.name}:export", error) for i in range(count)],
        )


def limit_events(max_events: int) -> Stage:
    """Refuse (413, counted as ``batch``) an export that maps to more events than a batch may hold."""

    def limit(batch: Batch) -> Batch:
        if len(batch.items) > max_events:
            batch.refusal = Refusal(
                413, "body", f"{len(batch.items)} events exceed the limit of {max_events}", counted_as="batch"
            )
        return batch

    return limit


def count_records(signal: Signal, request: Any) -> int:
    """How many records (log records, spans, data points) an export request holds."""
    if signal.name == "logs":
        return sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
    if signal.name == "traces":
        return sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
    total = 0
    for resource in request.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                data = metric.WhichOneof("data")
                total += len(getattr(metric, data).data_points) if data else 0
    return total
