"""OTLP/HTTP: ``POST /v1/logs``, ``/v1/traces``, ``/v1/metrics``.

Bodies ``application/x-protobuf`` or ``application/json`` (OTLP/JSON: hex trace/span ids,
64-bit integers as strings or numbers, enums as integers, unknown fields ignored), plain,
gzip or deflate, with a Content-Length or chunked. Answers, in the request's encoding:

* 200 with ``Export*ServiceResponse`` once the mapped events are fsync'd; events the
  contract rejects are counted in ``partial_success`` with a message naming the record and
  attribute (and quarantined). Telemetry that maps to nothing is counted, not refused.
* 400 malformed body (also a truncated gzip/deflate stream, JSON not in UTF-8 or nested too
  deeply, protobuf that does not parse); 401/403 token; 413 over a limit; 415 other content
  types or encodings;
  429 (too many requests in flight, or over the token's rate) and 503 (spool at its cap)
  with a short ``Retry-After`` — all with a ``google.rpc.Status`` body.
"""

from __future__ import annotations

from google.rpc import code_pb2, status_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from autoscope.collector.codecs.json_text import utf8_json
from autoscope.collector.codecs.otlp import JSON, PROTOBUF, SIGNALS, Signal, encode
from autoscope.collector.pipeline import Refusal, Sender
from autoscope.collector.receivers.admission import Admission
from autoscope.collector.receivers.body import read_body
from autoscope.collector.receivers.otlp import OtlpReceiver

_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    413: code_pb2.INVALID_ARGUMENT,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    503: code_pb2.UNAVAILABLE,
}


def status_response(refusal: Refusal, content_type: str) -> Response:
    """A refusal as OTLP wants it: the status code, ``Retry-After``, a ``google.rpc.Status``."""
    status = status_pb2.Status(
        code=_CODES.get(refusal.status, code_pb2.UNKNOWN), message=f"{refusal.field}: {refusal.reason}"
    )
    headers = {"Retry-After": str(refusal.retry_after_s)} if refusal.retry_after_s else None
    return Response(encode(status, content_type), refusal.status, headers, media_type=content_type)


def otlp_http_routes(admission: Admission, receiver: OtlpReceiver) -> list[Route]:
    limits = receiver.intake.limits

    def route(signal: Signal) -> Route:
        async def export(request: Request) -> Response:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            answer_type = content_type if content_type in (PROTOBUF, JSON) else JSON
            with admission.admit(request.headers) as sender:
                if isinstance(sender, Refusal):
                    return status_response(sender, answer_type)
                outcome = await handle(request, content_type, sender)
            if isinstance(outcome, Refusal):
                return status_response(outcome, answer_type)
            return Response(encode(outcome, content_type), 200, media_type=content_type)

        async def handle(request: Request, content_type: str, sender: Sender) -> object:
            if content_type not in (PROTOBUF, JSON):
                return admission.refuse(
                    "unsupported_media_type",
                    Refusal(415, "Content-Type", f"expected {PROTOBUF} or {JSON}, got {content_type!r}"),
                    sender.tool_label,
                )
            body = await read_body(request, limits)
            if content_type == JSON and not isinstance(body, Refusal):
                body = utf8_json(body, request.headers.get("content-type", ""))
            if isinstance(body, Refusal):
                return admission.refuse("body", body, sender.tool_label)
            return await receiver.export_body(signal, body, content_type, sender, "otlp_http")

        return Route(f"/v1/{signal.name}", export, methods=["POST"])

    return [route(signal) for signal in SIGNALS.values()]
