"""OTLP/JSON decoded by msgspec, straight into Structs shaped like the protobuf messages.

protobuf's own JSON path (``json_format.Parse`` → message) is pure Python and cost ~280 µs per
log record; this one decodes in C into Structs generated from the same descriptors
(opentelemetry-proto's), with the protobuf field names as attributes, so the mapping reads
them as it reads a message. One pass in Python then turns every attribute list into a dict
and checks what msgspec cannot express. The rules are the OTLP/JSON ones (the protobuf JSON
mapping, as ``json_format`` applies them):

* lowerCamelCase field names; unknown fields are ignored. A request that uses the protobuf
  field names (``resource_logs``, which ``json_format`` also takes) is decoded by
  ``json_format`` instead, as before; so is nothing else.
* 64-bit integers as numbers or strings (``"1764300000000000000"``, ``"1e3"``); doubles as
  numbers or ``"NaN"``/``"Infinity"``/``"-Infinity"``/numeric strings; every integer is
  range-checked for its protobuf type. Booleans only as ``true``/``false``.
* enums as numbers (open: an unknown number is kept) or value names (an unknown name leaves
  the field unset, as ``ignore_unknown_fields`` does).
* trace and span ids as hex (OTLP's exception); other bytes (``bytesValue``) as base64.
* ``null`` is the field's default; at most one field of a oneof (``AnyValue``'s value, a
  metric's data, a point's value) may be set.

Every refusal names the JSON path and the reason, e.g.
``$.resourceSpans[0].scopeSpans[0].spans[0].traceId: 'xyz' is not a hex id``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Annotated, Any, List, Optional  # noqa: UP035  typing's, for forward references by name

import msgspec
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from msgspec import Meta
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

_U64_MAX = 2**64 - 1

_INTS = {
    FieldDescriptor.TYPE_INT64: Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)],
    FieldDescriptor.TYPE_SINT64: Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)],
    FieldDescriptor.TYPE_SFIXED64: Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)],
    # msgspec bounds stop at int64: the upper bound of these is checked by finish()
    FieldDescriptor.TYPE_UINT64: Annotated[int, Meta(ge=0)],
    FieldDescriptor.TYPE_FIXED64: Annotated[int, Meta(ge=0)],
    FieldDescriptor.TYPE_INT32: Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)],
    FieldDescriptor.TYPE_SINT32: Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)],
    FieldDescriptor.TYPE_SFIXED32: Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)],
    FieldDescriptor.TYPE_UINT32: Annotated[int, Meta(ge=0, le=2**32 - 1)],
    FieldDescriptor.TYPE_FIXED32: Annotated[int, Meta(ge=0, le=2**32 - 1)],
}
_DEFAULTS = {
    FieldDescriptor.TYPE_DOUBLE: 0.0,
    FieldDescriptor.TYPE_FLOAT: 0.0,
    FieldDescriptor.TYPE_STRING: "",
    FieldDescriptor.TYPE_BOOL: False,
}
_HEX_FIELDS = {"trace_id", "span_id", "parent_span_id"}


class HexId(bytes):
    """A trace or span id: hex in OTLP/JSON."""


class Base64Bytes(bytes):
    """Any other bytes field: base64 (standard or URL-safe, padding optional), as json_format reads it."""


class StrictBool(int):
    """A bool that must be ``true`` or ``false`` (lax decoding would take ``"true"`` and 1)."""


class OpenEnum(int):
    """An enum field; subclassed per enum type, with its values by name."""

    by_name: dict[str, int] = {}


_TRUE, _FALSE = StrictBool(1), StrictBool(0)


def _dec_hook(kind: type, value: Any) -> Any:
    if kind is HexId:
        if not isinstance(value, str):
            raise TypeError(f"expected a hex string, got {type(value).__name__}")
        try:
            return HexId(bytes.fromhex(value))
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not a hex id") from None
    if kind is Base64Bytes:
        if not isinstance(value, str):
            raise TypeError(f"expected a base64 string, got {type(value).__name__}")
        try:
            encoded = value.encode()
            return Base64Bytes(base64.urlsafe_b64decode(encoded + b"=" * (4 - len(encoded) % 4)))
        except (binascii.Error, ValueError):
            raise ValueError(f"{value[:40]!r} is not base64") from None
    if kind is StrictBool:
        if value is True:
            return _TRUE
        if value is False:
            return _FALSE
        raise TypeError("expected true or false without quotes")
    if isinstance(kind, type) and issubclass(kind, OpenEnum):
        if type(value) is float and value.is_integer():
            value = int(value)
        if type(value) is int:
            if not -(2**31) <= value < 2**31:
                raise ValueError(f"enum value {value} out of range")
            return kind(value)
        if isinstance(value, str):
            number = kind.by_name.get(value)
            if number is not None:
                return kind(number)
            try:
                number = int(value)
            except ValueError:
                return kind(0)  # an unknown name: ignored, as json_format with ignore_unknown_fields
            if not -(2**31) <= number < 2**31:
                raise ValueError(f"enum value {value} out of range")
            return kind(number)
        raise TypeError(f"expected an enum number or name, got {type(value).__name__}")
    raise NotImplementedError(kind)


def _which_oneof(self: Any, name: str) -> str | None:
    for member in self.ONEOFS[name]:
        if getattr(self, member) is not None:
            return member
    return None


def _has_field(self: Any, name: str) -> bool:
    return getattr(self, name) is not None


_ENUMS: dict[str, type[OpenEnum]] = {}


def _enum_type(enum: EnumDescriptor) -> type[OpenEnum]:
    if enum.full_name not in _ENUMS:
        _ENUMS[enum.full_name] = type(enum.name, (OpenEnum,), {"by_name": {v.name: v.number for v in enum.values}})
    return _ENUMS[enum.full_name]


def _generate(roots: list[Descriptor], prefix: str, forbid_unknown: bool) -> dict[str, type]:
    """Structs for every message reachable from ``roots``, named ``prefix + full name``."""
    made: dict[str, type] = {}

    def name_of(descriptor: Descriptor) -> str:
        return prefix + descriptor.full_name.replace(".", "_")

    def field_type(field: FieldDescriptor) -> tuple[Any, Any]:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            visit(field.message_type)
            base: Any = name_of(field.message_type)
            default: Any = None
        elif field.type == FieldDescriptor.TYPE_ENUM:
            base, default = _enum_type(field.enum_type), 0
        elif field.type == FieldDescriptor.TYPE_BYTES:
            base, default = (HexId if field.name in _HEX_FIELDS else Base64Bytes), b""
        elif field.type == FieldDescriptor.TYPE_BOOL:
            base, default = StrictBool, False
        elif field.type in _INTS:
            base, default = _INTS[field.type], 0
        elif field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            base, default = float, 0.0
        else:
            base, default = str, ""
        if field.is_repeated:
            # typing's Optional: base may be a message's name, a forward reference `|` cannot take
            return Optional[List[base]], []  # type: ignore[valid-type]  # noqa: UP006, UP045
        if field.containing_oneof is not None:
            default = None  # unset unless given: WhichOneof / HasField tell
        return Optional[base], default  # noqa: UP045  (a forward reference by name, as above)

    def visit(descriptor: Descriptor) -> None:
        name = name_of(descriptor)
        if name in made:
            return
        made[name] = None  # type: ignore[assignment]  # recursion guard (AnyValue ↔ ArrayValue)
        fields = [(f.name, *field_type(f)) for f in descriptor.fields]
        made[name] = msgspec.defstruct(
            name,
            fields,
            module=__name__,
            forbid_unknown_fields=forbid_unknown,
            gc=False,
            rename={f.name: f.json_name for f in descriptor.fields},
            namespace={
                "ONEOFS": {o.name: tuple(f.name for f in o.fields) for o in descriptor.oneofs},
                "WhichOneof": _which_oneof,
                "HasField": _has_field,
                "FULL_NAME": descriptor.full_name,
            },
        )

    for root in roots:
        visit(root)
    return made


_ROOTS = {
    "logs": logs_service_pb2.ExportLogsServiceRequest.DESCRIPTOR,
    "traces": trace_service_pb2.ExportTraceServiceRequest.DESCRIPTOR,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest.DESCRIPTOR,
}
_STRICT = _generate(list(_ROOTS.values()), "OtlpJson_", forbid_unknown=True)
_LENIENT = _generate(list(_ROOTS.values()), "OtlpJsonLenient_", forbid_unknown=False)
globals().update(_STRICT)
globals().update(_LENIENT)


def _decoders(structs: dict[str, type], prefix: str) -> dict[str, msgspec.json.Decoder]:
    return {
        signal: msgspec.json.Decoder(structs[prefix + d.full_name.replace(".", "_")], strict=False, dec_hook=_dec_hook)
        for signal, d in _ROOTS.items()
    }


_STRICT_DECODERS = _decoders(_STRICT, "OtlpJson_")
_LENIENT_DECODERS = _decoders(_LENIENT, "OtlpJsonLenient_")
REQUEST_TYPES = tuple(
    decoder.type for decoders in (_STRICT_DECODERS, _LENIENT_DECODERS) for decoder in decoders.values()
)


def _protobuf_names() -> re.Pattern[bytes]:
    """A JSON key that is a protobuf field name differing from its lowerCamelCase name."""
    names: set[str] = set()
    seen: set[str] = set()

    def walk(descriptor: Descriptor) -> None:
        if descriptor.full_name in seen:
            return
        seen.add(descriptor.full_name)
        for field in descriptor.fields:
            if field.name != field.json_name:
                names.add(field.name)
            if field.message_type is not None:
                walk(field.message_type)

    for root in _ROOTS.values():
        walk(root)
    return re.compile(rb'"(?:' + b"|".join(re.escape(n.encode()) for n in sorted(names)) + rb')"\s*:')


_PROTOBUF_NAMES = _protobuf_names()


class Invalid(ValueError):
    """A request that breaks the OTLP/JSON rules: ``path`` (``$.resourceLogs[0]…``) and reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def under(self, prefix: str) -> Invalid:
        """The same error, its path below ``prefix``."""
        return Invalid(prefix + self.path, self.reason)


class UseProtobufJson(Exception):
    """The body uses protobuf field names (snake_case): decode it with ``json_format``."""


def is_json_request(request: Any) -> bool:
    """Whether ``request`` came from :func:`decode` (else it is a protobuf message)."""
    return isinstance(request, REQUEST_TYPES)


def decode(signal: str, body: bytes) -> Any:
    """The request Struct of ``signal`` (``logs``, ``traces``, ``metrics``) in ``body``, its
    attribute lists turned into dicts.

    Raises:
        msgspec.DecodeError: not JSON (or not UTF-8).
        Invalid: JSON that is not a valid request (path and reason).
        UseProtobufJson: the body names fields by their protobuf names.
    """
    try:
        request = _STRICT_DECODERS[signal].decode(body)
    except msgspec.ValidationError as exc:
        # what is wrong with JSON itself comes first, as before: a typed decode stops at the
        # first value of a wrong type, and skips unknown fields without reading them (so
        # without checking their UTF-8); an untyped decode reads it all
        msgspec.json.decode(body)
        message = str(exc)
        if not message.startswith("Object contains unknown field"):
            raise _invalid(message) from None
        if _PROTOBUF_NAMES.search(body):
            raise UseProtobufJson() from None
        try:  # fields this proto version does not know: ignored, as the spec says
            request = _LENIENT_DECODERS[signal].decode(body)
        except msgspec.ValidationError as lenient_exc:
            raise _invalid(str(lenient_exc)) from None
    _FINISH[signal](request)
    return request


def _invalid(message: str) -> Invalid:
    # msgspec: "Expected `array`, got `object` - at `$.resourceLogs`"
    reason, sep, where = message.rpartition(" - at `")
    if not sep:
        return Invalid("$", message)
    return Invalid(where.rstrip("`"), _REASONS.get(reason, reason))


_REASONS = {  # msgspec's words for what OTLP/JSON allows
    "Expected `int | null`, got `str`": "expected an integer (a JSON number, or a string of one), "
    "got a string that is not one",
    "Expected `float | null`, got `str`": 'expected a number (a JSON number, "NaN", "Infinity" or "-Infinity", '
    "or a string of a number), got a string that is not one",
}


# -- the pass in Python: attribute lists → dicts, oneofs, nulls, uint64 bounds ---------------
# Paths are built only for an error: a function raises Invalid with the path below what it was
# given, and each caller that knows more of the path puts its part in front (Invalid.under).

#: how deep AnyValues may nest (arrays and kvlists within each other). protobuf stops at 100
#: nested messages, two per AnyValue level, so a protobuf request cannot nest deeper than
#: this either; the limit keeps the Python walk below far from the interpreter's recursion limit.
MAX_VALUE_DEPTH = 48


def _value(value: Any, depth: int = 0) -> Any:
    """An AnyValue Struct as a Python value, as ``mapping.attributes.any_value`` gives it."""
    if value is None:
        return None
    if depth > MAX_VALUE_DEPTH:
        raise Invalid("", f"values nested more than {MAX_VALUE_DEPTH} levels deep (arrayValue/kvlistValue)")
    members = _astuple(value)  # in AnyValue's field order, _ANY_VALUE_MEMBERS
    unset = members.count(None)
    if unset == 8:
        return None
    if unset < 7:
        first, second = [name for name, item in zip(_ANY_VALUE_MEMBERS, members) if item is not None][:2]
        raise Invalid("", f"more than one of AnyValue's value fields is set ({_camel(first)}, {_camel(second)})")
    index = 0
    while members[index] is None:
        index += 1
    kind, found = _ANY_VALUE_MEMBERS[index], members[index]
    if kind == "bool_value":
        return bool(found)
    if kind == "array_value":
        out = []
        for i, item in enumerate(found.values or ()):
            try:
                out.append(_value(item, depth + 1))
            except Invalid as exc:
                raise exc.under(f".arrayValue.values[{i}]") from None
        return out
    if kind == "kvlist_value":
        try:
            return _attributes(found.values, depth + 1)
        except Invalid as exc:
            raise exc.under(".kvlistValue.values") from None
    if kind == "bytes_value":
        return found.hex()
    return found


# AnyValue's fields in their order in the Struct (and so in astuple()); all one oneof
_ANY_VALUE_MEMBERS = tuple(
    f.name for f in msgspec.structs.fields(_STRICT["OtlpJson_opentelemetry_proto_common_v1_AnyValue"])
)
assert _ANY_VALUE_MEMBERS == tuple(_LENIENT["OtlpJsonLenient_opentelemetry_proto_common_v1_AnyValue"].__struct_fields__)
_astuple = msgspec.structs.astuple


def _attributes(key_values: list[Any] | None, depth: int = 0) -> dict[str, Any]:
    """A KeyValue list as a dict (a later key wins, as in ``mapping.attributes.attributes``)."""
    out: dict[str, Any] = {}
    if not key_values:
        return out
    for kv in key_values:
        value = kv.value
        if value is not None:
            text = value.string_value
            # the common case, one string and nothing else: no loop over the fields
            if (
                text is not None
                and value.int_value is None
                and value.bool_value is None
                and value.double_value is None
                and value.array_value is None
                and value.kvlist_value is None
                and value.bytes_value is None
                and value.string_value_strindex is None
            ):
                item: Any = text
            else:
                try:
                    item = _value(value, depth)
                except Invalid as exc:
                    raise exc.under(f"[{key_values.index(kv)}].value") from None
        else:
            item = None
        key = kv.key
        out[key if key is not None else ""] = item
    return out


def _attributes_at(key_values: list[Any] | None, path: str) -> dict[str, Any]:
    try:
        return _attributes(key_values)
    except Invalid as exc:
        raise exc.under(path) from None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _u64(value: int | None, path: str) -> int:
    if value is None:
        return 0
    if value > _U64_MAX:
        raise Invalid(path, f"{value} is out of range for uint64")
    return value


class _NoScope:
    """An absent instrumentation scope, as protobuf's default reads."""

    name = ""
    version = ""
    attributes: dict[str, Any] = {}


class _NoResource:
    attributes: dict[str, Any] = {}


_NO_SCOPE, _NO_RESOURCE = _NoScope(), _NoResource()


def _scope(holder: Any, path: str) -> None:
    scope = holder.scope
    if scope is None:
        holder.scope = _NO_SCOPE
        return
    scope.attributes = _attributes_at(scope.attributes, f"{path}.scope.attributes")
    if scope.name is None:
        scope.name = ""


def _resource(holder: Any, path: str) -> None:
    resource = holder.resource
    if resource is None:
        holder.resource = _NO_RESOURCE
        return
    resource.attributes = _attributes_at(resource.attributes, f"{path}.resource.attributes")


class _Body:
    """A log record's body, already a Python value (``body.value``)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _scopes(request: Any, resources: str, scopes: str) -> Iterator[tuple[Any, str]]:
    """Each scope-level entry of an export request (``resources``/``scopes``: the protobuf field
    names, e.g. ``resource_logs``/``scope_logs``) with its JSON path, once its resource and scope
    read as protobuf's defaults would and their attributes are dicts; absent lists become []."""
    holders = getattr(request, resources) or []
    setattr(request, resources, holders)
    for r, holder in enumerate(holders):
        path = f"$.{_camel(resources)}[{r}]"
        _resource(holder, path)
        entries = getattr(holder, scopes) or []
        setattr(holder, scopes, entries)
        for s, entry in enumerate(entries):
            spath = f"{path}.{_camel(scopes)}[{s}]"
            _scope(entry, spath)
            yield entry, spath


def _finish_logs(request: Any) -> None:
    for scope_logs, spath in _scopes(request, "resource_logs", "scope_logs"):
        scope_logs.log_records = records = scope_logs.log_records or []
        for i, log in enumerate(records):
            where = ".attributes"
            try:
                log.attributes = _attributes(log.attributes)
                if log.body is not None:
                    where = ".body"
                    log.body = _Body(_value(log.body))
            except Invalid as exc:
                raise exc.under(f"{spath}.logRecords[{i}]{where}") from None
            time_ns = log.time_unix_nano
            if time_ns is None or time_ns > _U64_MAX:
                log.time_unix_nano = _u64(time_ns, f"{spath}.logRecords[{i}].timeUnixNano")
            observed = log.observed_time_unix_nano
            if observed is None or observed > _U64_MAX:
                log.observed_time_unix_nano = _u64(observed, f"{spath}.logRecords[{i}].observedTimeUnixNano")
            if log.event_name is None:
                log.event_name = ""


class _UnsetStatus:
    code = 0
    message = ""


_STATUS_UNSET = _UnsetStatus()


def _finish_traces(request: Any) -> None:
    for scope_spans, spath in _scopes(request, "resource_spans", "scope_spans"):
        scope_spans.spans = spans = scope_spans.spans or []
        for i, span in enumerate(spans):
            where = f"{spath}.spans[{i}]"
            span.attributes = _attributes_at(span.attributes, f"{where}.attributes")
            for e, event in enumerate(span.events or ()):
                event.attributes = _attributes_at(event.attributes, f"{where}.events[{e}].attributes")
                _u64(event.time_unix_nano, f"{where}.events[{e}].timeUnixNano")
            for k, link in enumerate(span.links or ()):
                link.attributes = _attributes_at(link.attributes, f"{where}.links[{k}].attributes")
            span.start_time_unix_nano = _u64(span.start_time_unix_nano, f"{where}.startTimeUnixNano")
            span.end_time_unix_nano = _u64(span.end_time_unix_nano, f"{where}.endTimeUnixNano")
            if span.name is None:
                span.name = ""
            if span.trace_id is None:
                span.trace_id = b""
            if span.span_id is None:
                span.span_id = b""
            if span.status is None:
                span.status = _STATUS_UNSET
            elif span.status.code is None:
                span.status.code = 0


_POINT_KINDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")


def _finish_metrics(request: Any) -> None:
    for scope_metrics, spath in _scopes(request, "resource_metrics", "scope_metrics"):
        scope_metrics.metrics = metrics = scope_metrics.metrics or []
        for m, metric in enumerate(metrics):
            _finish_metric(metric, f"{spath}.metrics[{m}]")


def _finish_metric(metric: Any, path: str) -> None:
    if metric.name is None:
        metric.name = ""
    metric.metadata = _attributes_at(metric.metadata, f"{path}.metadata")
    kinds = [kind for kind in _POINT_KINDS if getattr(metric, kind) is not None]
    if len(kinds) > 1:
        raise Invalid(path, f"more than one of a metric's data fields is set ({', '.join(map(_camel, kinds))})")
    if not kinds:
        return
    kind = kinds[0]
    data = getattr(metric, kind)
    data.data_points = points = data.data_points or []
    if hasattr(data, "aggregation_temporality") and data.aggregation_temporality is None:
        data.aggregation_temporality = 0
    if kind == "sum" and data.is_monotonic is None:
        data.is_monotonic = False
    for p, point in enumerate(points):
        where = f"{path}.{_camel(kind)}.dataPoints[{p}]"
        point.attributes = _attributes_at(point.attributes, f"{where}.attributes")
        point.time_unix_nano = _u64(point.time_unix_nano, f"{where}.timeUnixNano")
        point.start_time_unix_nano = _u64(point.start_time_unix_nano, f"{where}.startTimeUnixNano")
        if kind == "gauge" or kind == "sum":
            if point.as_double is not None and point.as_int is not None:
                raise Invalid(where, "more than one of a point's value fields is set (asDouble, asInt)")
            if point.as_double is None and point.as_int is None:
                point.as_int = 0  # protobuf reads an unset value as 0
        else:
            _u64(point.count, f"{where}.count")
            if point.sum is None:
                point.sum = 0.0
        for c, count in enumerate(getattr(point, "bucket_counts", None) or ()):
            _u64(count, f"{where}.bucketCounts[{c}]")
        for x, exemplar in enumerate(getattr(point, "exemplars", None) or ()):
            if exemplar.as_double is not None and exemplar.as_int is not None:
                raise Invalid(
                    f"{where}.exemplars[{x}]", "more than one of an exemplar's value fields is set (asDouble, asInt)"
                )
            exemplar.filtered_attributes = _attributes_at(
                exemplar.filtered_attributes, f"{where}.exemplars[{x}].filteredAttributes"
            )
            _u64(exemplar.time_unix_nano, f"{where}.exemplars[{x}].timeUnixNano")


_FINISH = {"logs": _finish_logs, "traces": _finish_traces, "metrics": _finish_metrics}
