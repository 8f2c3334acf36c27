"""Where native events enter: ``POST /v1/events`` (a JSON array) and ``GET /healthz``.

Status codes, so a sender knows what to do with its batch:

* 200 every event accepted; 207 some rejected — both answer per event
  (``results[i] = {index, event_id, status, error: {field, reason}}``). Accepted means
  written and fsync'd to the spool, from where the forwarder takes it to Kafka.
* 400 malformed body (invalid JSON, not an array, empty) or every event rejected;
  413 body or batch over its limit; 415 not ``application/json``.
* 503 with ``Retry-After`` when the spool is at its cap (Kafka has been away for long):
  nothing of the batch was accepted and re-sending it is safe (event_id is the idempotency key).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import zlib
from collections.abc import Sequence

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from autoscope.collector import pipeline
from autoscope.collector.pipeline import Batch, Processor, Refusal
from autoscope.collector.contract import Event, encode_events
from autoscope.collector.sinks.spool import Spool, SpoolFull
from autoscope.collector.stats import CollectorStats

RETRY_AFTER_S = 2  # short: OpenTelemetry exporters drop a batch whose wait exceeds ~10 s

_encoder = msgspec.json.Encoder()


@dataclasses.dataclass(frozen=True)
class Limits:
    """Per-request limits; over them the request is refused with 413 naming the limit."""

    max_body_bytes: int = 8 * 1024 * 1024
    max_events: int = 5000
    events_per_record: int = 500  # events per spool record, and so per Kafka message


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(_encoder.encode(body), status, headers, media_type="application/json")


def refusal_response(refusal: Refusal) -> Response:
    headers = {"Retry-After": str(refusal.retry_after_s)} if refusal.retry_after_s else None
    body = {"error": {"field": refusal.field, "reason": refusal.reason}}
    return json_response(refusal.status, body, headers)


async def read_body(request: Request, limits: Limits) -> bytes | Refusal:
    """The body, decompressed if gzip/deflate, or the refusal naming what is wrong with it.

    Reads the stream chunk by chunk so an oversized body is refused without being held,
    whether it came with a Content-Length or chunked.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body_bytes:
            return Refusal(413, "body", f"body exceeds the limit of {limits.max_body_bytes} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "deflate"):
        return Refusal(415, "Content-Encoding", f"unsupported content encoding {encoding!r}")
    try:
        decompressor = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
        body = decompressor.decompress(body, limits.max_body_bytes + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        return Refusal(400, "body", f"body is not valid {encoding}: {exc}")
    if len(body) > limits.max_body_bytes or decompressor.unconsumed_tail:
        return Refusal(413, "body", f"decompressed body exceeds {limits.max_body_bytes} bytes")
    return body


def _item_result(item: pipeline.Item) -> dict[str, object]:
    result: dict[str, object] = {"index": item.index}
    if item.event is not None:
        result["event_id"] = item.event.event_id
    if item.accepted:
        result["status"] = "accepted"
    else:
        assert item.error is not None
        result["status"] = "rejected"
        result["error"] = {"field": item.error.field, "reason": item.error.reason}
    return result


def spool_records(events: Sequence[Event], events_per_record: int) -> list[bytes]:
    """Accepted events as spool records: JSON arrays of up to ``events_per_record`` events."""
    return [
        encode_events(list(events[i : i + events_per_record]))
        for i in range(0, len(events), events_per_record)
    ]


async def write_durably(spool: Spool, events: Sequence[Event], limits: Limits) -> Refusal | None:
    """Append the events to the spool (fsync'd); a refusal when the spool is at its cap."""
    if not events:
        return None
    try:
        await asyncio.to_thread(spool.append, spool_records(events, limits.events_per_record))
    except SpoolFull as exc:
        return Refusal(503, "spool", f"{exc}; Kafka is behind, retry shortly", RETRY_AFTER_S)
    return None


def native_routes(
    processors: Sequence[Processor], spool: Spool, stats: CollectorStats, limits: Limits
) -> list[Route]:
    """The native receiver's routes, running ``processors`` then writing to ``spool``."""

    async def post_events(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            stats.refused("unsupported_media_type")
            return refusal_response(
                Refusal(415, "Content-Type", f"expected application/json, got {content_type!r}")
            )
        body = await read_body(request, limits)
        if isinstance(body, Refusal):
            stats.refused("body")
            return refusal_response(body)
        batch = pipeline.run(processors, Batch(body=body))
        if batch.refusal is not None:
            stats.refused(batch.refusal.field)
            return refusal_response(batch.refusal)
        accepted = batch.accepted_events()
        rejected = batch.rejected_items()
        refusal = await write_durably(spool, accepted, limits)
        if refusal is not None:
            stats.refused("spool_full")
            return refusal_response(refusal)
        stats.accepted(len(accepted))
        for item in rejected:
            assert item.error is not None
            stats.rejected(item.error.field)
        status = 200 if not rejected else (207 if accepted else 400)
        return json_response(
            status,
            {
                "accepted": len(accepted),
                "rejected": len(rejected),
                "results": [_item_result(item) for item in batch.items],
            },
        )

    async def healthz(request: Request) -> Response:
        return json_response(200, {"status": "ok", **stats.snapshot()})

    return [
        Route("/v1/events", post_events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
