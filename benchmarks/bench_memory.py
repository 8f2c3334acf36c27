"""Collector memory at twice its sustainable load: RSS stays bounded, excess is shed (429/503).

Setup: the embedded broker and one collector process, as in ``bench_collector``. Its
sustainable rate is the native throughput measured by ``bench_collector`` earlier in the same
run (or a short closed-loop measurement here when run alone). The load generator then offers
twice that rate open-loop (requests started on schedule whatever the answers, on up to 128
connections — more than the collector's 64 requests in flight, so overload has to be shed)
for 60 s (15 s with ``--quick``), while this process samples the collector's RSS every 0.25 s.

Baseline in the same run: the collector's idle RSS after start-up and a warm-up request.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import SHARED, collector_process, command_for, drive, embedded_broker, process_tree_rss, row

STAGE = "memory"
LIMIT_MB = 300
CONNECTIONS = 512


def run(quick: bool = False) -> list[dict[str, Any]]:
    duration = 15.0 if quick else 60.0
    command = command_for("memory", quick)
    topic = f"bench.memory.{int(time.time())}"
    with embedded_broker() as broker:
        from autoscope.core.kafka_settings import ensure_topic

        ensure_topic(broker.settings(topic=topic))
        with collector_process(broker.bootstrap_servers, topic) as (proc, port, _):
            drive(port, proc.pid, duration=1.0, connections=2)  # warm-up
            time.sleep(1.0)
            idle = process_tree_rss(proc.pid)
            requests_per_s = SHARED.get("collector_native_requests_per_s")
            if not requests_per_s:
                probe = drive(port, proc.pid, duration=5.0)
                requests_per_s = probe["requests_2xx"] / probe["elapsed_s"]
            offered = 2 * requests_per_s
            # enough connections that the schedule is kept while the collector sheds: with 128
            # the client itself queued a third of the requests, and 2x was really about 1.4x
            result = drive(
                port, proc.pid, duration=duration, connections=CONNECTIONS, rate=offered, sample_rss_every_s=0.25
            )
    samples = result["rss_samples"]
    peak = max(rss for _, rss in samples)
    half = [rss for t, rss in samples if t >= duration / 2]
    first = [rss for t, rss in samples if t < duration / 2]
    growth = (max(half) - max(first)) / max(first) if half and first else 0.0
    statuses = result["statuses"]
    shed = sum(v for k, v in statuses.items() if k in ("429", "503"))
    mb = 1024 * 1024
    bounded = peak / mb <= LIMIT_MB and growth <= 0.10
    sent_per_s = (sum(statuses.values()) + result["errors"]) / result["elapsed_s"]
    overload = sent_per_s / requests_per_s  # what the collector really got, not what was scheduled
    note = (
        f"scheduled {offered:.0f} requests/s of 500 events (2× the sustainable "
        f"{requests_per_s:.0f}/s) for {duration:.0f} s on {CONNECTIONS} connections, sent "
        f"{sent_per_s:.0f}/s ({overload:.2f}× sustainable); answered {statuses}, "
        f"{shed} shed; accepted {result['events_2xx'] / result['elapsed_s']:,.0f} events/s; "
        f"RSS second half vs first half peak {growth:+.1%}; client errors {result['errors']}, "
        f"not sent (client queue) {result['client_dropped']}"
    )
    return [
        row(
            STAGE,
            "collector peak RSS at 2× sustainable load",
            peak / mb,
            "MB",
            baseline="idle RSS of the same collector",
            baseline_value=idle / mb,
            goal=f"≤ {LIMIT_MB} MB, sheds with 429/503 instead of growing (at ≥ 1.8× really sent)",
            met=bounded and shed > 0 and overload >= 1.8,
            command=command,
            note=note,
        )
    ]
