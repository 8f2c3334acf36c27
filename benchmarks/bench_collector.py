"""Collector throughput: events accepted durably (2xx = fsync'd in the spool) per second.

Setup: the embedded broker, one collector process (uvicorn, one worker) forwarding to it, and
the load generator in a second process (16 keep-alive connections, closed loop, batches of
500 events from the simulated lab). CPU per event is the collector process's user+system CPU
over the load window divided by the events accepted.

Baselines in the same run: decoding the same request bodies with the JSON library alone
(msgspec, the collector's codec; untyped decode) and, for OTLP, with opentelemetry-proto alone
(``ParseFromString``; ``json_format.Parse`` for OTLP/JSON).
"""

from __future__ import annotations

import os
import time
from typing import Any

from benchmarks.common import SHARED, bodies_for, collector_process, command_for, drive, embedded_broker, row

STAGE = "collector"
WORKERS = int(os.environ.get("BENCH_COLLECTOR_WORKERS", "1"))


def _decode_rate(payload: str, bodies: list[bytes], batch: int, seconds: float = 1.5) -> float:
    """Events (records) per second decoded by the codec alone, one thread."""
    if payload == "native":
        import msgspec

        decode = msgspec.json.decode
    else:
        from google.protobuf import json_format
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        if payload == "otlp-protobuf":

            def decode(body: bytes) -> Any:
                message = ExportLogsServiceRequest()
                message.ParseFromString(body)
                return message
        else:

            def decode(body: bytes) -> Any:
                return json_format.Parse(body, ExportLogsServiceRequest(), ignore_unknown_fields=True)

    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for body in bodies:
            decode(body)
            done += batch
    return done / (time.perf_counter() - start)


def _measure(port: int, pid: int, payload: str, duration: float, batch: int) -> dict[str, Any]:
    result = drive(port, pid, payload=payload, batch=batch, connections=16, duration=duration)
    events = result["events_2xx"]
    result["events_per_s"] = events / result["elapsed_s"]
    result["cpu_us_per_event"] = result["server_cpu_s"] / events * 1e6 if events else None
    result["events_per_cpu_s"] = events / result["server_cpu_s"] if result["server_cpu_s"] else None
    return result


def run(quick: bool = False) -> list[dict[str, Any]]:
    duration = 8.0 if quick else 20.0
    command = command_for("collector", quick)
    rows = []
    topic = f"bench.collector.{int(time.time())}"
    with embedded_broker() as broker:
        from autoscope.core.kafka_settings import ensure_topic

        ensure_topic(broker.settings(topic=topic))
        with collector_process(broker.bootstrap_servers, topic, workers=WORKERS) as (proc, port, _):
            drive(port, proc.pid, duration=2.0)  # warm-up: imports, first producer connection
            for payload, batch, goal_eps, goal_text in (
                ("native", 500, 50_000, "≥ 50,000 events/s per core and ≥ 25 % of decode-only"),
                ("otlp-protobuf", 500, 33_000, "≥ 33,000 records/s per core"),
                ("otlp-json", 500, 33_000, "≥ 33,000 records/s per core"),
            ):
                if quick and payload == "otlp-json":
                    continue
                bodies = bodies_for(payload, 8, batch)[0]
                baseline = _decode_rate(payload, bodies, batch)
                result = _measure(port, proc.pid, payload, duration if payload == "native" else duration / 2, batch)
                eps = result["events_per_s"]
                ratio = eps / baseline
                # "per core": the rate the process sustains per CPU-second it used (≤ 1 core per worker)
                per_core = result["events_per_cpu_s"] or 0.0
                if payload == "native":
                    met = eps / max(1, WORKERS) >= goal_eps and per_core >= goal_eps and ratio >= 0.25
                    SHARED["collector_native_eps"] = eps
                    SHARED["collector_native_requests_per_s"] = result["requests_2xx"] / result["elapsed_s"]
                else:
                    met = eps / max(1, WORKERS) >= goal_eps and per_core >= goal_eps
                unit = "events/s" if payload == "native" else "records/s"
                base_name = (
                    "msgspec.json.decode of the same bodies (1 thread)"
                    if payload == "native"
                    else "opentelemetry-proto "
                    + ("ParseFromString" if payload == "otlp-protobuf" else "json_format.Parse")
                    + " of the same bodies"
                )
                rows.append(
                    row(
                        STAGE,
                        f"{payload}: accepted durably (2xx), batches of {batch}, {WORKERS} worker(s)",
                        eps,
                        unit,
                        baseline=base_name,
                        baseline_value=baseline,
                        ratio=ratio,
                        goal=goal_text,
                        met=met,
                        command=command,
                        cpu_us_per_event=result["cpu_us_per_event"],
                        note=(
                            f"{result['events_per_cpu_s'] or 0:,.0f} {unit.split('/')[0]} per CPU-second of the "
                            f"collector; request p50 {result['latency_p50_s'] or 0:.3f} s, p99 "
                            f"{result['latency_p99_s'] or 0:.3f} s; statuses {result['statuses']}; "
                            f"body {result['body_bytes_mean'] / 1024:.0f} KiB; "
                            f"{duration if payload == 'native' else duration / 2:.0f} s load"
                        ),
                    )
                )
    return rows
