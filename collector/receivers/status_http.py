"""``GET /v1/status``: what this collector has taken in and refused, as one JSON object.

It is what ``autoscope status --collector-url URL`` reads from a remote collector (and from the
one ``autoscope up`` runs on the same data directory): counters since the collector started
(accepted, rejected by field, refused requests by reason, OTLP telemetry received, unmapped,
superseded, failed and dropped by kind), the spool's backlog, the forwarder's state, the
ingester's Kafka lag as last measured, and the quarantine's summary (entries, top reasons).

Access: once any token exists it needs a token with the ``read`` scope (401 without or with an
unknown one, 403 without the scope), the same rule as the dashboard. ``/healthz`` stays open
for load balancers and liveness probes, and shows counters only.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from autoscope.collector.intake import Intake
from autoscope.collector.pipeline import Refusal
from autoscope.collector.receivers.admission import Admission
from autoscope.collector.receivers.native_http import json_response, refusal_response
from autoscope.collector.sinks.forwarder import Forwarder
from autoscope.collector.sinks.quarantine import quarantine_summary
from autoscope.collector.sinks.spool import Spool
from autoscope.collector.stats import IngesterLagReading


def _iso(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).isoformat(timespec="seconds")


def lag_snapshot(lag: IngesterLagReading | None) -> dict[str, object]:
    """The ingester's lag as last measured: per ``topic/partition``, the total, and how old."""
    if lag is None:
        return {"measured": False}
    partitions = {f"{topic}/{partition}": records for (topic, partition), records in sorted(lag.snapshot().items())}
    return {
        "measured": lag.refreshed_at is not None,
        "measured_at": _iso(lag.refreshed_at),
        "records": sum(partitions.values()),
        "partitions": partitions,
        "failures": lag.failures,
        "last_error": lag.last_error,
    }


def status_routes(
    admission: Admission,
    intake: Intake,
    spool: Spool,
    forwarder: Forwarder,
    quarantine_dir: Path,
    otlp: Callable[[], dict[str, dict[str, int]]],
    dropped: Callable[[], dict[str, int]],
    lag: IngesterLagReading | None,
) -> list[Route]:
    started_at = time.time()

    async def status(request: Request) -> Response:
        sender = admission.authenticator(request.headers, "read")
        if isinstance(sender, Refusal):
            return refusal_response(sender)
        quarantine = await run_in_threadpool(quarantine_summary, quarantine_dir)  # reads files: off the loop
        return json_response(
            200,
            {
                "started_at": _iso(started_at),
                "now": _iso(time.time()),
                **intake.stats.snapshot(),
                "otlp": otlp(),
                "dropped": dropped(),
                "spool": {"bytes": spool.total_bytes, "segments": len(spool.segments())},
                "forwarder": {
                    "forwarded_records": forwarder.forwarded_records,
                    "kafka_errors": forwarder.kafka_errors,
                    "last_error": forwarder.last_error,
                },
                "ingester_lag": lag_snapshot(lag),
                "quarantine": quarantine,
            },
        )

    return [Route("/v1/status", status, methods=["GET"])]
