"""Decode a native JSON batch: the body must be a JSON array of event objects."""

from __future__ import annotations

import msgspec

from autoscope.collector.pipeline import Batch, Item, Processor, Refusal

_array_of_raw = msgspec.json.Decoder(list[msgspec.Raw])


def decode_json_array(max_events: int) -> Processor:
    """Split the body into one raw item per event, without validating the events yet.

    Parameters:
        max_events: a larger batch is refused with 413, naming the limit.
    """

    def decode(batch: Batch) -> Batch:
        try:
            raws = _array_of_raw.decode(batch.body)
        except msgspec.ValidationError:
            batch.refusal = Refusal(400, "$", "the body must be a JSON array of event objects")
            return batch
        except msgspec.DecodeError as exc:
            batch.refusal = Refusal(400, "$", f"invalid JSON: {exc}")
            return batch
        if len(raws) > max_events:
            batch.refusal = Refusal(
                413, "$", f"batch of {len(raws)} events exceeds the limit of {max_events}"
            )
            return batch
        if not raws:
            batch.refusal = Refusal(400, "$", "the batch is empty")
            return batch
        batch.items = [Item(index, raw) for index, raw in enumerate(raws)]
        return batch

    return decode
