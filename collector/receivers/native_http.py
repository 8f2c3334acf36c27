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
from autoscope.collector.chain import Chain
from autoscope.collector.codecs.json_text import utf8_json
from autoscope.collector.intake import Intake
from autoscope.collector.pipeline import Batch, Refusal
from autoscope.collector.receivers.admission import Admission
from autoscope.collector.receivers.body import read_body

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


def native_routes(admission: Admission, intake: Intake, chain: Chain) -> list[Route]:
    """The native receiver's route: admission, the body, then the chain's native stages."""

    async def post_events(request: Request) -> Response:
        with admission.admit(request.headers) as sender:
            if isinstance(sender, Refusal):
                return refusal_response(sender)
            return await handle(request, sender)

    async def handle(request: Request, sender: pipeline.Sender) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return refusal_response(
                admission.refuse(
                    "unsupported_media_type",
                    Refusal(415, "Content-Type", f"expected application/json, got {content_type!r}"),
                    sender.tool_label,
                )
            )
        body = await read_body(request, intake.limits)
        if not isinstance(body, Refusal):
            body = utf8_json(body, request.headers.get("content-type", ""))
        if isinstance(body, Refusal):
            return refusal_response(admission.refuse("body", body, sender.tool_label))
        batch = await intake.accept(Batch(body=body, sender=sender), chain.native, "native")
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
