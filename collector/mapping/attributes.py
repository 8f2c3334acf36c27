"""OTLP values as plain Python: AnyValue → str/int/float/bool/list/dict, tolerant numbers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://autoscope.invalid/otlp-mapping")


def any_value(value: Any) -> Any:
    """An ``AnyValue`` as a Python value (bytes as hex, arrays as lists, kvlists as dicts)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


#: the AnyValue kinds read as they are (no nesting, no conversion): almost every attribute
_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value"})


def attributes(key_values: Iterable[Any]) -> dict[str, Any]:
    """A protobuf ``KeyValue`` list as a dict, the same values :func:`any_value` gives.

    The hot loop of OTLP/protobuf mapping (an ``autoscope.*`` record carries ~17 attributes,
    each read through upb's Python API): a scalar is read inline, without a call to
    :func:`any_value` per attribute, which only nested and bytes values still take."""
    out: dict[str, Any] = {}
    scalars = _SCALARS
    for kv in key_values:
        value = kv.value
        kind = value.WhichOneof("value")
        out[kv.key] = getattr(value, kind) if kind in scalars else any_value(value)
    return out


def as_str(value: Any) -> str | None:
    if value is None or isinstance(value, (list, dict)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_number(value: Any) -> float | None:
    """A number sent as ``intValue``/``doubleValue`` or as a ``stringValue`` of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def as_int(value: Any) -> int | None:
    number = as_number(value)
    return None if number is None or not math.isfinite(number) else int(round(number))


def iso_from_nanos(nanos: int) -> str | None:
    """An ISO time in UTC; None for 0 (unset) or a time out of range."""
    if not nanos:
        return None
    seconds, rest = divmod(int(nanos), 1_000_000_000)
    try:
        moment = dt.datetime.fromtimestamp(seconds, dt.UTC) + dt.timedelta(microseconds=rest // 1000)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat()


def stable_id(*parts: Any) -> str:
    """A deterministic UUID (v5) from stable identifiers: a re-sent payload maps to the same ids."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return str(uuid.uuid5(_NAMESPACE, text))


def short_hash(*parts: Any) -> str:
    """A 32-hex-char label derived from stable identifiers (task or contribution ids)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def sorted_items(mapping: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return sorted(mapping.items())
