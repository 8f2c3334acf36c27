"""Decode a native JSON batch: the body must be a JSON array of event objects.

Structure is checked here, before any event is: a body nested deeper than the decoder's
recursion allows is refused with 400 (:data:`TOO_DEEP`) rather than left to raise, and bytes
that are not UTF-8 (UTF-16/32, with or without a byte-order mark, a UTF-8 BOM) are refused as
invalid JSON, as RFC 8259 has it for JSON exchanged between systems.
"""

from __future__ import annotations

import msgspec

from autoscope.collector.pipeline import Batch, Item, Refusal, Stage

_array_of_raw = msgspec.json.Decoder(list[msgspec.Raw])

#: the reason given for a document nested too deeply to decode. msgspec (like protobuf, whose
#: limit is 100 nested messages) recurses per level and stops at the interpreter's recursion
#: limit, about a thousand levels; no event or OTLP request nests beyond a few dozen.
TOO_DEEP = "JSON nested too deeply (arrays or objects within each other beyond about 1,000 levels)"


def decode_json_array(max_events: int) -> Stage:
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
        except RecursionError:
            batch.refusal = Refusal(400, "$", TOO_DEEP)
            return batch
        except UnicodeDecodeError as exc:
            batch.refusal = Refusal(400, "$", f"invalid JSON: not valid UTF-8 at byte {exc.start}")
            return batch
        if len(raws) > max_events:
            batch.refusal = Refusal(413, "$", f"batch of {len(raws)} events exceeds the limit of {max_events}")
            return batch
        if not raws:
            batch.refusal = Refusal(400, "$", "the batch is empty")
            return batch
        batch.items = [Item(index, raw) for index, raw in enumerate(raws)]
        return batch

    return decode
