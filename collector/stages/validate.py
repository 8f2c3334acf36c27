"""Validate each item against the v1 contract; a bad event is marked, the rest go on."""

from __future__ import annotations

import msgspec

from autoscope.collector.contract import ContractError, Event, convert_event, decode_event, decode_events, normalize
from autoscope.collector.pipeline import Batch

_EVENT_LIST = list[Event]


def _validate_all_at_once(batch: Batch) -> bool:
    """Fast path: validate every item of the batch with ONE msgspec call; True if it did.

    * native (every item is the untouched raw JSON of the body's array, as
      :func:`~autoscope.collector.codecs.native_json.decode_json_array` makes them): the body is
      decoded as ``list[Event]``;
    * mapped (every item is a dict, as the OTLP receivers make them): the dicts are converted
      as ``list[Event]``.

    Same decoder, same rules as :func:`decode_event` / :func:`convert_event`, minus one Python
    call, one union-type lookup and one try per event (profiled: 3.4 → 2.8 µs per native event,
    9.2 → 3.2 µs per mapped one). If any event is bad the whole call fails and the caller
    validates item by item, so each bad event still gets its own field and reason.
    """
    items = batch.items
    if not items:
        return False
    kind = type(items[0].raw)
    if kind is not dict and kind is not msgspec.Raw:
        return False
    for item in items:
        if item.event is not None or item.error is not None or type(item.raw) is not kind:
            return False
    try:
        if kind is msgspec.Raw:
            if not batch.body:
                return False
            events = decode_events(batch.body)
        else:
            events = msgspec.convert([item.raw for item in items], _EVENT_LIST)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return False
    if len(events) != len(items):
        return False
    for item, event in zip(items, events):
        item.event = normalize(event)
    return True


def validate_events(batch: Batch) -> Batch:
    """Turn each item's raw form into its event Struct, or record the field and reason it broke.

    ``raw`` is JSON bytes (native receiver) or a dict built by a mapping (OTLP receivers).
    """
    if _validate_all_at_once(batch):
        return batch
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
