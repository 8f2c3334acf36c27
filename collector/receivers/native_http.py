"""Where native events enter: ``POST /v1/events`` with a JSON array of events.

Status codes, so a sender knows what to do with its batch:

* 200 every event accepted; 207 some rejected — both answer per event
  (``results[i] = {index, event_id, status, error: {field, reason}}``). Accepted means
  written and fsync'd to the spool, from where the forwarder takes it to Kafka. Rejected
  events are kept in the quarantine with their reason.
* 400 malformed body (invalid JSON, not UTF-8, nested too deeply, not an array, empty, a
  truncated gzip stream, a connection closed mid-body) or every event rejected;
  401/403 missing, unknown or out-of-scope token; 413 body or batch over its limit (the
  message names the limit); 415 not ``application/json``, a charset other than UTF-8, or a
  Content-Encoding other than gzip/deflate/identity.
* 503 with ``Retry-After`` when the spool is at its cap (Kafka has been away for long):
  nothing of the batch was accepted and re-sending it is safe (event_id is the idempotency key).
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from autoscope.collector import pipeline
from autoscope.collector.intake import Intake
from autoscope.collector.pipeline import Batch, Refusal
from autoscope.collector.receivers.auth import user_agent_tool
from autoscope.collector.receivers.body import read_body
from autoscope.collector.transforms.decode import decode_json_array
from autoscope.collector.transforms.json_text import utf8_json

_encoder = msgspec.json.Encoder()


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(_encoder.encode(body), status, headers, media_type="application/json")


def refusal_response(refusal: Refusal) -> Response:
    headers = {"Retry-After": str(refusal.retry_after_s)} if refusal.retry_after_s else None
    body = {"error": {"field": refusal.field, "reason": refusal.reason}}
    return json_response(refusal.status, body, headers)


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


def native_routes(intake: Intake) -> list[Route]:
    """The native receiver's route: decode the JSON array, then the shared intake."""
    decode = decode_json_array(intake.limits.max_events)

    async def post_events(request: Request) -> Response:
        refusal = intake.in_flight.enter()
        if refusal is not None:
            intake.stats.refused("in_flight", user_agent_tool(request.headers))
            return refusal_response(refusal)
        try:
            return await handle(request)
        finally:
            intake.in_flight.leave()

    async def handle(request: Request) -> Response:
        sender = intake.authenticator(request, "ingest")
        if isinstance(sender, Refusal):
            intake.stats.refused("unauthorized" if sender.status == 401 else "forbidden", sender.tool)
            return refusal_response(sender)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            intake.stats.refused("unsupported_media_type", sender.tool_label)
            return refusal_response(
                Refusal(415, "Content-Type", f"expected application/json, got {content_type!r}")
            )
        body = await read_body(request, intake.limits)
        if not isinstance(body, Refusal):
            body = utf8_json(body, request.headers.get("content-type", ""))
        if isinstance(body, Refusal):
            intake.stats.refused("body", sender.tool_label)
            return refusal_response(body)
        batch = decode(Batch(body=body))
        if batch.refusal is not None:
            intake.stats.refused(batch.refusal.field, sender.tool_label)
            return refusal_response(batch.refusal)
        batch = await intake.accept(batch, sender, "native")
        if batch.refusal is not None:  # counted by the intake
            return refusal_response(batch.refusal)
        accepted = len(batch.accepted_events())
        rejected = len(batch.items) - accepted
        status = 200 if not rejected else (207 if accepted else 400)
        return json_response(
            status,
            {
                "accepted": accepted,
                "rejected": rejected,
                "results": [_item_result(item) for item in batch.items],
            },
        )

    return [Route("/v1/events", post_events, methods=["POST"])]
