"""What the hooks' background thread spends writing a batch for the wire, per event: the OTLP
transport building its ``ExportLogsServiceRequest`` straight from the event dicts with
opentelemetry-proto (``agents/otlp.py``), beside the way it went before issue 15 (each event
JSON-encoded, decoded again, emitted through a private SDK LoggerProvider into a capture
exporter, then encoded by the OTLP exporter's own encoder), and the native transport's JSON.

    python -m benchmarks.bench_hook_wire --quick     # alone: a few seconds
    python -m benchmarks --only hook_wire

Goal: the direct OTLP path costs no more than the SDK round trip it replaced.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks.common import row

BATCH = 512
COMMAND = "python -m benchmarks.bench_hook_wire"


def _events(n: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": str(uuid.uuid4()),
            "schema_version": 1,
            "type": "task",
            "occurred_at": "2026-12-02T06:00:00.123456+00:00",
            "source": {"tool": "bench", "version": "1.0"},
            "actor": "ada@lab.example",
            "team": "pretraining",
            "task_id": f"T-{i}",
            "family": None,
            "executor": "ai",
            "autonomy": "supervised",
            "category": "analysis",
            "role": "primary",
            "rung": "assist",
            "human_minutes": 30.0,
            "duration_s": 12.5,
            "outcome": "success",
            "model": "m-1",
        }
        for i in range(n)
    ]


def _direct() -> Callable[[list[dict[str, Any]]], bytes]:
    from autoscope.agents.config import load_settings
    from autoscope.agents.otlp import OtlpTransport

    transport = OtlpTransport(
        load_settings(
            collector_url="http://127.0.0.1:9", tool="bench", tool_version="1.0", team="t", actor="a@lab.example"
        )
    )
    return lambda events: transport.request(events).SerializeToString()


def _through_the_sdk() -> Callable[[list[dict[str, Any]]], bytes]:
    """The pre-issue-15 OTLP path, rebuilt from the SDK it used."""
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs import export as sdk_export
    from opentelemetry.sdk.resources import Resource

    from autoscope.agents import semconv

    base = getattr(sdk_export, "LogRecordExporter", None) or sdk_export.LogExporter
    success = (getattr(sdk_export, "LogRecordExportResult", None) or sdk_export.LogExportResult).SUCCESS

    class Capture(base):  # type: ignore[misc, valid-type]
        records: list[Any] = []

        def export(self, batch: Any) -> Any:
            self.records.extend(batch)
            return success

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    capture = Capture()
    provider = LoggerProvider(
        resource=Resource.create({"service.name": "bench", "service.version": "1.0"}), shutdown_on_exit=False
    )
    provider.add_log_record_processor(sdk_export.SimpleLogRecordProcessor(capture))
    logger = provider.get_logger(semconv.SCOPE)

    def write(events: list[dict[str, Any]]) -> bytes:
        lines = [json.dumps(e, separators=(",", ":"), allow_nan=False).encode() for e in events]
        capture.records = []
        now = time.time_ns()
        for line in lines:
            logger.emit(semconv.log_record(json.loads(line), now))
        return encode_logs(capture.records).SerializeToString()

    return write


def _native(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(events, separators=(",", ":"), allow_nan=False).encode()


def _us_per_event(write: Callable[[list[dict[str, Any]]], bytes], batches: int) -> float:
    events = _events(BATCH)
    write(events)  # warm up
    samples = []
    for _ in range(batches):
        start = time.perf_counter()
        write(events)
        samples.append((time.perf_counter() - start) / BATCH * 1e6)
    return statistics.median(samples)


def run(quick: bool = False) -> list[dict[str, Any]]:
    batches = 20 if quick else 200
    direct = _us_per_event(_direct(), batches)
    sdk = _us_per_event(_through_the_sdk(), batches)
    native = _us_per_event(_native, batches)
    goal = "≤ the SDK round trip it replaced"
    return [
        row(
            "hook wire",
            f"OTLP request from event dicts, {BATCH}-event batch (median per event)",
            direct,
            "µs",
            baseline="JSON → dict → SDK LoggerProvider → capture → OTLP encoder (before issue 15)",
            baseline_value=sdk,
            goal=goal,
            met=direct <= sdk,
            command=COMMAND,
        ),
        row("hook wire", f"native JSON body, {BATCH}-event batch (median per event)", native, "µs", command=COMMAND),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for result in run(args.quick):
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
