"""The native transport: a batch of events as one JSON array → ``POST {collector_url}/v1/events``.

The collector's answers: 200, every event accepted; 207 (or 400 with per-event results),
some rejected for good; 400 without per-event results, the body could not be read; the
others as in ``transport``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from autoscope.agents.config import Settings
from autoscope.agents.transport import CollectorConnection, HttpAnswer, Refused, Reply, refusal


class NativeTransport:
    """Posts JSON batches to ``{collector_url}/v1/events`` over one kept-alive connection."""

    def __init__(self, settings: Settings) -> None:
        self._connection = CollectorConnection(
            settings.collector_url,
            "/v1/events",
            "application/json",
            settings.token,
            settings.export_timeout_s,
            settings.tool,
        )

    def send(self, events: Sequence[Mapping[str, Any]]) -> Reply:
        """Send ``events`` as one batch; never raises."""
        try:
            body = json.dumps(list(events), separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as exc:  # split like a body the collector cannot read,
            # down to the event at fault, which is set aside
            return Reply(refused=Refused.MALFORMED, detail=f"not writable as JSON: {exc}")
        answer = self._connection.post(body)
        if isinstance(answer, Reply):
            return answer
        return self.judge(answer, len(events))

    @staticmethod
    def judge(answer: HttpAnswer, count: int) -> Reply:
        """What the collector's ``answer`` says of a batch of ``count`` events."""
        if answer.status == 200:
            return Reply(accepted=count)
        if answer.status in (207, 400):
            return _per_event(answer.body, answer.status)
        if answer.retryable:
            return answer.retry_reply()
        return refusal(answer.status, _error_text(answer.body))

    def close(self) -> None:
        self._connection.close()


def _per_event(body: bytes, status: int) -> Reply:
    """A 207/400 answer with per-event results; a whole-batch refusal if it has none."""
    try:
        answer = json.loads(body)
        accepted, rejected = int(answer["accepted"]), int(answer["rejected"])
        errors = [r.get("error") for r in answer.get("results", []) if r.get("status") == "rejected"]
    except (ValueError, TypeError, KeyError, AttributeError):
        return refusal(status, _error_text(body))
    first = errors[0] if errors else None
    detail = f"{first.get('field')}: {first.get('reason')}" if isinstance(first, dict) else ""
    return Reply(accepted=accepted, rejected=rejected, detail=detail)


def _error_text(body: bytes) -> str:
    """The collector's ``{"error": {"field", "reason"}}`` as ``field: reason``, else the body's start."""
    try:
        error = json.loads(body)["error"]
        return f"{error['field']}: {error['reason']}"
    except (ValueError, TypeError, KeyError):
        return body[:200].decode("utf-8", "replace")
