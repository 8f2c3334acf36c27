"""OTLP/protobuf logs and traces, with their records' attributes read from their bytes.

Reading a KeyValue through protobuf's Python API costs a wrapper object for the KeyValue and
one for its AnyValue, ``WhichOneof`` and a ``getattr``: ~0.7 us per attribute, the largest
share of the collector's CPU for OTLP logs (profiled: ~30 %). Here the request is parsed
twice: once with opentelemetry-proto's own classes, which checks everything (wire format,
UTF-8) and is what a malformed body is refused by; and once with "shadow" classes, the same
messages except that a log record's or span's ``attributes`` are ``repeated bytes`` (the same
wire type), so each attribute comes out as the bytes of its KeyValue. Those are read by
:func:`attributes`: the common shape (a short key, and one string, integer, double or bool)
straight from the bytes, anything else by protobuf itself; and the same bytes (a repeated
``team = "rl"``) are read once, from a bounded cache of scalar values.

The mapping reads a shadow request as it reads the real one (same field names), except for
those attribute lists, for which :func:`is_shadow` tells it to use :func:`attributes`.
"""

from __future__ import annotations

import struct
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from autoscope.collector.mapping.attributes import any_value

_SHADOWED = {"opentelemetry.proto.logs.v1.LogRecord", "opentelemetry.proto.trace.v1.Span"}


def _shadow_classes() -> dict[str, Any]:
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, logs_pb2, logs_service_pb2, trace_pb2, trace_service_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        for message in proto.message_type:
            if f"{proto.package}.{message.name}" in _SHADOWED:
                for field in message.field:
                    if field.name == "attributes":
                        field.type = FieldDescriptor.TYPE_BYTES
                        field.ClearField("type_name")
        pool.Add(proto)
    return {
        "logs": message_factory.GetMessageClass(
            pool.FindMessageTypeByName(logs_service_pb2.ExportLogsServiceRequest.DESCRIPTOR.full_name)),
        "traces": message_factory.GetMessageClass(
            pool.FindMessageTypeByName(trace_service_pb2.ExportTraceServiceRequest.DESCRIPTOR.full_name)),
    }


SHADOWS = _shadow_classes()
_SHADOW_TYPES = tuple(SHADOWS.values())


def is_shadow(request: Any) -> bool:
    """Whether ``request`` is a shadow request, whose records' attributes are KeyValue bytes."""
    return isinstance(request, _SHADOW_TYPES)


def shadow(signal: str, body: bytes) -> Any | None:
    """The shadow request of ``body``, already parsed and checked by the real classes; None
    for a signal without one (metrics)."""
    kind = SHADOWS.get(signal)
    if kind is None:
        return None
    request = kind()
    request.ParseFromString(body)
    return request


# -- KeyValue bytes → (key, value) ------------------------------------------------------------

_MAX_CACHED = 1 << 16  # distinct KeyValue encodings remembered; then the cache starts again
_cache: dict[bytes, tuple[str, Any]] = {}
_unpack_double = struct.Struct("<d").unpack_from
_KeyValue = common_pb2.KeyValue


def attributes(encoded: Any) -> dict[str, Any]:
    """The attributes of a shadow record: what ``mapping.attributes.attributes`` gives for the
    same KeyValues (a later key wins)."""
    out: dict[str, Any] = {}
    get = _cache.get
    for data in encoded:
        pair = get(data)
        if pair is None:
            pair = _scalar(data)
            if pair is None:  # another shape: protobuf reads it (not cached: lists, dicts)
                kv = _KeyValue.FromString(data)
                out[kv.key] = any_value(kv.value)
                continue
            if len(_cache) >= _MAX_CACHED:
                _cache.clear()
            _cache[data] = pair
        out[pair[0]] = pair[1]
    return out


def _scalar(data: bytes) -> tuple[str, Any] | None:
    """``(key, value)`` when ``data`` is a KeyValue of the plain shape — field 1 (key), then
    field 2 (value) holding exactly one string, int, double or bool field, lengths under 128 —
    else None. The bytes were checked by protobuf already (UTF-8 included)."""
    n = len(data)
    if n < 4 or data[0] != 0x0A:
        return None
    key_end = 2 + data[1]
    if data[1] >= 0x80 or key_end + 2 > n or data[key_end] != 0x12:
        return None
    size = data[key_end + 1]
    start = key_end + 2
    if size >= 0x80 or start + size != n or size < 2:
        return None
    tag = data[start]
    if tag == 0x0A:  # string_value
        if data[start + 1] != size - 2:
            return None
        return data[2:key_end].decode(), data[start + 2:n].decode()
    if tag == 0x18:  # int_value: a varint of at most 9 bytes (0 <= value < 2**63)
        if size > 10:
            return None
        value = shift = 0
        for i in range(start + 1, n):
            byte = data[i]
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return (data[2:key_end].decode(), value) if i == n - 1 else None
        return None
    if tag == 0x21:  # double_value
        if size != 9:
            return None
        return data[2:key_end].decode(), _unpack_double(data, start + 1)[0]
    if tag == 0x10 and size == 2 and data[start + 1] <= 1:  # bool_value
        return data[2:key_end].decode(), data[start + 1] == 1
    return None
