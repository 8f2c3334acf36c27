"""OTLP export requests from bytes, and responses to bytes: protobuf and OTLP/JSON.

:func:`decode` is the codec every OTLP receiver uses (OTLP/HTTP for both content types, the
gRPC server as its request deserializer). It never raises: what the decoders raise for input
nobody foresaw is answered with a 400 :class:`~autoscope.collector.pipeline.Refusal` naming
the exception (and logged in one line, without a traceback), so a sender learns its request
is malformed rather than seeing a 500 (or gRPC's INTERNAL).
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from typing import Any

import msgspec
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from autoscope.collector.codecs import otlp_json
from autoscope.collector.codecs.native_json import TOO_DEEP
from autoscope.collector.pipeline import Batch, Refusal, Stage

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
PROTOBUF_DEPTH = 100  # protobuf's recursion limit for nested messages (upb's default)
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Signal:
    name: str  # logs, traces, metrics
    request_type: Any
    response_type: Any
    rejected_field: str  # the partial_success counter
    map_method: str


SIGNALS = {
    "logs": Signal(
        "logs",
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
        "rejected_log_records",
        "map_logs",
    ),
    "traces": Signal(
        "traces",
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
        "rejected_spans",
        "map_traces",
    ),
    "metrics": Signal(
        "metrics",
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
        "rejected_data_points",
        "map_metrics",
    ),
}

# OTLP/JSON writes trace and span ids as hex, where protobuf's JSON mapping expects base64
_ID_KEYS = {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}


def _hex_ids_to_base64(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in _ID_KEYS and isinstance(item, str):
                try:
                    out[key] = base64.b64encode(bytes.fromhex(item)).decode()
                except ValueError:
                    raise ValueError(f"{path}.{key}: {item[:40]!r} is not a hex id") from None
            else:
                out[key] = _hex_ids_to_base64(item, f"{path}.{key}")
        return out
    if isinstance(value, list):
        return [_hex_ids_to_base64(item, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def decode(signal: Signal, body: bytes, content_type: str) -> Any:
    """The export request in ``body``, or a 400 refusal saying what is wrong: an
    ``Export*ServiceRequest`` message for protobuf, a Struct of the same shape for OTLP/JSON
    (:mod:`~autoscope.collector.codecs.otlp_json`; the mapper reads both).

    No decoder failure escapes as an exception: what the decoders raise for input nobody
    foresaw is answered with 400 naming the exception (and logged in one line, without a
    traceback), so a sender learns its request is malformed rather than seeing a 500."""
    kind = signal.request_type.DESCRIPTOR.name
    try:
        if content_type == PROTOBUF:
            return _decode_protobuf(signal, body)
        return _decode_json(signal, body)
    except RecursionError:
        return Refusal(400, "body", f"not a valid {kind}: {TOO_DEEP}")
    except Exception as exc:  # noqa: BLE001 - a decoder's surprise is still the sender's malformed body
        log.warning(
            "an OTLP %s body (%s, %d bytes) failed to decode with %s: %s",
            signal.name,
            content_type,
            len(body),
            type(exc).__name__,
            str(exc)[:200],
        )
        return Refusal(400, "body", f"not a valid {kind}: {type(exc).__name__}: {str(exc)[:200]}")


def _decode_protobuf(signal: Signal, body: bytes) -> Any:
    kind = signal.request_type.DESCRIPTOR.name
    message = signal.request_type()
    try:
        message.ParseFromString(body)
    except DecodeError as exc:
        return Refusal(400, "body", f"not a valid {kind} protobuf: {protobuf_reason(exc, body)}")
    return message


def protobuf_reason(exc: Exception, body: bytes) -> str:
    """protobuf's parse error (upb names the cause: corrupt wire format, bad UTF-8, depth),
    with a hint where the body looks like something else: JSON, or gzip not declared."""
    reason = str(exc)
    if "MaxDepth" in reason:
        reason += f" (messages nested more than {PROTOBUF_DEPTH} deep)"
    stripped = body.lstrip()
    if stripped[:1] in (b"{", b"["):
        reason += " (the body looks like JSON: send it as application/json)"
    elif body.startswith(b"\x1f\x8b"):
        reason += " (the body looks gzip-compressed: declare it as such)"
    return reason


def _decode_json(signal: Signal, body: bytes) -> Any:
    kind = signal.request_type.DESCRIPTOR.name
    try:
        return otlp_json.decode(signal.name, body)
    except msgspec.DecodeError as exc:
        return Refusal(400, "body", f"invalid JSON: {exc}")
    except UnicodeDecodeError as exc:  # msgspec can raise it for bad bytes in strings (fuzzing)
        return Refusal(400, "body", f"invalid JSON: not valid UTF-8 at byte {exc.start}")
    except otlp_json.Invalid as exc:
        if exc.path == "$" and exc.reason.startswith("Expected `object`"):
            return Refusal(400, "body", f"the body must be a JSON object ({kind})")
        return Refusal(400, "body", f"not a valid {kind} in OTLP/JSON: {exc}")
    except otlp_json.UseProtobufJson:
        return _decode_with_json_format(signal, body)


def _decode_with_json_format(signal: Signal, body: bytes) -> Any:
    """protobuf's own JSON parser, for a body that names fields by their protobuf names
    (``resource_logs``), which it accepts; slow (pure Python), and rare."""
    message = signal.request_type()
    kind = signal.request_type.DESCRIPTOR.name
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return Refusal(400, "body", f"invalid JSON: {exc}")
    if not isinstance(data, dict):
        return Refusal(400, "body", f"the body must be a JSON object ({kind})")
    try:
        data = _hex_ids_to_base64(data, "$")
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except (ValueError, json_format.ParseError) as exc:
        return Refusal(400, "body", f"not a valid {kind} in OTLP/JSON: {exc}")
    return message


def encode(message: Any, content_type: str) -> bytes:
    if content_type == PROTOBUF:
        return message.SerializeToString()
    return json_format.MessageToJson(message, indent=None).encode()


def decode_export(signal: Signal) -> Stage:
    """The chain's OTLP decode stage: ``batch.body`` (of ``batch.content_type``) → ``batch.request``,
    or the 400 refusal naming what is wrong. A request the gRPC server already decoded (as its
    request deserializer) is left as it is."""

    def decode_otlp(batch: Batch) -> Batch:
        if batch.request is None:
            request = decode(signal, batch.body, batch.content_type)
            if isinstance(request, Refusal):
                batch.refusal = request
            else:
                batch.request = request
        return batch

    return decode_otlp
