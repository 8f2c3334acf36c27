"""Validate each item against the v1 contract; a bad event is marked, the rest go on."""

from __future__ import annotations

from autoscope.collector.contract import ContractError, convert_event, decode_event
from autoscope.collector.pipeline import Batch


def validate_events(batch: Batch) -> Batch:
    """Turn each item's raw form into its event Struct, or record the field and reason it broke.

    ``raw`` is JSON bytes (native receiver) or a dict built by a mapping (OTLP receivers).
    """
    for item in batch.items:
        if item.event is not None or item.error is not None:
            continue
        try:
            if isinstance(item.raw, dict):
                item.event = convert_event(item.raw)
            else:
                item.event = decode_event(item.raw)
        except ContractError as exc:
            item.error = exc
    return batch
