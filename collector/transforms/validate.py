"""Validate each item against the v1 contract; a bad event is marked, the rest go on."""

from __future__ import annotations

from autoscope.collector.contract import ContractError, decode_event
from autoscope.collector.pipeline import Batch


def validate_events(batch: Batch) -> Batch:
    """Decode each raw item into its event Struct, or record the field and reason it broke."""
    for item in batch.items:
        if item.event is not None or item.error is not None:
            continue
        try:
            item.event = decode_event(item.raw)
        except ContractError as exc:
            item.error = exc
    return batch
