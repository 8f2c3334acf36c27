"""What a hook costs the tool: time on the calling thread per event, beside a bare
OpenTelemetry log record emit (through a BatchLogRecordProcessor) and a bare span (through a
BatchSpanProcessor) in the same run; every exporter discards, so only the calling thread is
measured (the background threads still run and compete for the GIL, as in a real tool).

And the memory check: the collector down, 1,000 events/s for ``--minutes`` (default 10; the
quick mode runs ~20 s) in a child process; its resident memory must stay bounded (the queue
is bounded, the spool is on disk and capped) while the hooks keep their speed.

    python -m benchmarks --only hooks                 # in the suite (results JSON, BENCHMARKS.md)
    python -m benchmarks.bench_hooks --quick          # alone: ~30 s in all
    python -m benchmarks.bench_hooks --memory-only --minutes 10

Goals (issue 3): hook ≤ 1.5× a bare OTel log record emit, p99 ≤ 50 µs; bounded memory.
"""

from __future__ import annotations

import argparse
import array
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, command_for, free_port, percentile, row

RATIO_GOAL = 1.5
P99_GOAL_US = 50.0
MEMORY_GROWTH_GOAL_MIB = 16.0


def _time_calls(call: Callable[[int], Any], n: int, warmup: int) -> list[float]:
    """Per-call wall time in µs on this thread."""
    for i in range(warmup):
        call(i)
    clock = time.perf_counter_ns
    samples = []
    gc.collect()
    for i in range(n):
        start = clock()
        call(i)
        samples.append((clock() - start) / 1000.0)
    return samples


def _bare_otel() -> tuple[Callable[[int], Any], Callable[[int], Any], Callable[[], None]]:
    """A bare OTel log emit and a bare span, each through a batch processor into a discarding exporter."""
    from opentelemetry._logs import LogRecord, SeverityNumber
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs import export as log_export
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    base = getattr(log_export, "LogRecordExporter", None) or log_export.LogExporter
    result = getattr(log_export, "LogRecordExportResult", None) or log_export.LogExportResult

    class DiscardLogs(base):  # type: ignore[misc, valid-type]
        def export(self, batch: Any) -> Any:
            return result.SUCCESS

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    class DiscardSpans(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    logs = LoggerProvider(shutdown_on_exit=False)
    logs.add_log_record_processor(log_export.BatchLogRecordProcessor(DiscardLogs(), max_queue_size=1 << 20))
    logger = logs.get_logger("bench")
    spans = TracerProvider(shutdown_on_exit=False)
    spans.add_span_processor(BatchSpanProcessor(DiscardSpans(), max_queue_size=1 << 20))
    tracer = spans.get_tracer("bench")

    def log_emit(i: int) -> None:
        # a record of the same size as a review event: event name + 9 attributes
        logger.emit(
            LogRecord(
                timestamp=time.time_ns(),
                severity_number=SeverityNumber.INFO,
                event_name="bench.review",
                attributes={
                    "task_id": "t-1",
                    "reviewer": "ada@lab.example",
                    "action": "approved",
                    "minutes": 4.0,
                    "team": "pretraining",
                    "actor": "ada@lab.example",
                    "tool": "bench",
                    "version": "1.0",
                    "i": i,
                },
            )
        )

    def span(i: int) -> None:
        tracer.start_span("bench.task").end()

    def close() -> None:
        logs.shutdown()
        spans.shutdown()

    return log_emit, span, close


def _hooks(transport: str) -> tuple[Callable[[int], Any], Callable[[int], Any], Callable[[], dict[str, Any]]]:
    """The review hook and a task context manager, their exporter sending into a discarding transport."""
    from autoscope import agents
    from autoscope.agents import delivery as delivery_module
    from autoscope.agents.otlp import OtlpTransport
    from autoscope.agents.transport import Reply

    class Discard(OtlpTransport):
        """The OTLP transport up to the wire: events → an OTLP request's bytes, then discarded."""

        def send(self, events: Sequence[Mapping[str, Any]]) -> Reply:
            self.request(events).SerializeToString()
            return Reply(accepted=len(events))

    original = delivery_module.make_transport
    delivery_module.make_transport = lambda settings: (Discard(settings), "")  # type: ignore[assignment]
    # default settings (task spans on: without a tracer provider in the tool they cost a lookup)
    agents.configure(
        collector_url="http://127.0.0.1:9",
        team="pretraining",
        actor="ada@lab.example",
        tool="bench",
        tool_version="1.0",
        transport=transport,
        max_queue_size=1 << 20,
        spool_dir=tempfile.mkdtemp(prefix="bench-hooks-spool-"),
    )

    def review(i: int) -> None:
        agents.review("t-1", "approved", minutes=4)

    def task(i: int) -> None:
        with agents.task("analysis", human_minutes=30):
            pass

    def finish() -> dict[str, Any]:
        agents.flush(60)
        stats = agents.stats()
        agents.shutdown(10)  # no exporter thread left behind to compete with later benchmarks
        delivery_module.make_transport = original  # type: ignore[assignment]
        return stats

    return review, task, finish


def latency_rows(quick: bool) -> list[dict[str, Any]]:
    n = 5_000 if quick else 50_000
    warmup = 1_000 if quick else 5_000
    command = command_for("hooks", quick)
    log_emit, span, close = _bare_otel()
    review, task, finish = _hooks("otlp")
    # interleave rounds so drift (CPU frequency, GC, background threads) hits all alike
    results: dict[str, list[float]] = {"log": [], "span": [], "review": [], "task": []}
    rounds = 5
    for _ in range(rounds):
        results["log"] += _time_calls(log_emit, n // rounds, warmup // rounds)
        results["span"] += _time_calls(span, n // rounds, warmup // rounds)
        results["review"] += _time_calls(review, n // rounds, warmup // rounds)
        results["task"] += _time_calls(task, n // rounds, warmup // rounds)
    stats = finish()
    close()
    median = {k: statistics.median(v) for k, v in results.items()}
    p99 = {k: percentile(v, 99) for k, v in results.items()}
    baseline = "bare OTel log record emit (BatchLogRecordProcessor, discarding exporter)"
    rows = []
    for key, label in (("review", "agents.review() hook"), ("task", "agents.task() context manager")):
        ratio = median[key] / median["log"]
        rows.append(
            _hook_row(
                "hooks: calling thread",
                f"{label}, median per event",
                median[key],
                "µs",
                baseline + ", median",
                median["log"],
                ratio,
                f"≤ {RATIO_GOAL}× bare OTel log emit",
                ratio <= RATIO_GOAL,
                command,
            )
        )
        rows.append(
            _hook_row(
                "hooks: calling thread",
                f"{label}, p99 per event",
                p99[key],
                "µs",
                baseline + ", p99",
                p99["log"],
                p99[key] / p99["log"],
                f"≤ {P99_GOAL_US:g} µs p99",
                p99[key] <= P99_GOAL_US,
                command,
            )
        )
    rows.append(
        _hook_row(
            "hooks: calling thread",
            "bare OTel span (BatchSpanProcessor), median",
            median["span"],
            "µs",
            baseline + ", median",
            median["log"],
            median["span"] / median["log"],
            "reference",
            True,
            command,
        )
    )
    rows.append(
        _hook_row(
            "hooks: calling thread",
            "bare OTel span (BatchSpanProcessor), p99",
            p99["span"],
            "µs",
            baseline + ", p99",
            p99["log"],
            p99["span"] / p99["log"],
            "reference",
            True,
            command,
        )
    )
    rows.append(
        _hook_row(
            "hooks: calling thread",
            "events dropped or failed during the timing",
            stats["dropped"] + stats["errors"],
            "events",
            "events emitted",
            2 * (n + warmup),
            0.0,
            "0",
            stats["dropped"] + stats["errors"] == 0,
            command,
        )
    )
    return rows


def _hook_row(
    stage: str,
    measure: str,
    value: float,
    unit: str,
    baseline: str,
    baseline_value: float,
    ratio: float,
    goal: str,
    met: bool,
    command: str,
) -> dict[str, Any]:
    return row(
        stage,
        measure,
        value,
        unit,
        baseline=baseline,
        baseline_value=baseline_value,
        ratio=ratio,
        goal=goal,
        met=bool(met),
        command=command,
    )


# --- memory with the collector down ----------------------------------------------------------


def _rss_mib() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(seconds: float, rate: int, spool_dir: str) -> dict[str, Any]:
    """In a child process: the collector down, ``rate`` events/s for ``seconds``."""
    from autoscope import agents

    agents.configure(
        collector_url=f"http://127.0.0.1:{free_port()}",
        team="t",
        actor="a@lab.example",
        tool="bench-memory",
        spool_dir=spool_dir,
        spool_max_bytes=20 * 1024 * 1024,
    )
    log_emit, _, close = _bare_otel()  # the baseline, paced the same way in the same loop
    started = time.monotonic()
    samples: list[tuple[float, float]] = []
    # preallocated, so that the measurement's own memory is there before the first sample
    capacity = int(seconds * rate) + 10 * rate
    call_us = array.array("d", bytes(8 * capacity))
    otel_us = array.array("d", bytes(8 * capacity))
    calls = otels = 0
    sent = 0
    next_sample = started
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    clock = time.perf_counter_ns
    while (now := time.monotonic()) - started < seconds and calls + 2 * per_tick < capacity:
        # the first call after a sleep is slow (cold caches); alternate who goes first
        order = (0, 1) if (sent // per_tick) % 2 else (1, 0)
        for which in order:
            for _ in range(per_tick):
                t0 = clock()
                if which:
                    agents.review("t-1", "approved", minutes=1)
                    call_us[calls] = (clock() - t0) / 1000.0
                    calls += 1
                else:
                    log_emit(sent)
                    otel_us[otels] = (clock() - t0) / 1000.0
                    otels += 1
        sent += per_tick
        if now >= next_sample:
            samples.append((now - started, _rss_mib()))
            next_sample += 1.0
        delay = started + sent / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - started
    call_us, otel_us = call_us[:calls], otel_us[:otels]
    agents.flush(60)  # the collector is still down: what is pending goes to the spool
    stats = agents.stats()
    warm = [rss for t, rss in samples if t >= seconds * 0.25] or [samples[-1][1]]
    spool_bytes = sum(p.stat().st_size for p in Path(spool_dir).rglob("seg-*"))
    return {
        "events": sent,
        "rate": sent / elapsed,
        "rss_start_mib": samples[0][1],
        "rss_after_warmup_mib": warm[0],
        "rss_max_mib": max(rss for _, rss in samples),
        "growth_after_warmup_mib": max(warm) - warm[0],
        "spool_bytes": spool_bytes,
        "spooled": stats["spooled"],
        "dropped": stats["dropped"],
        "pending": stats["pending"],
        "call_p99_us": percentile(list(call_us), 99),
        "call_median_us": statistics.median(call_us),
        "otel_p99_us": percentile(list(otel_us), 99),
        "otel_median_us": statistics.median(otel_us),
    }


def memory_rows(minutes: float, quick: bool) -> list[dict[str, Any]]:
    seconds = 20.0 if quick and minutes is None else float(minutes or 10) * 60
    command = f"python -m benchmarks.bench_hooks --memory-only --minutes {seconds / 60:g}"
    with tempfile.TemporaryDirectory(prefix="bench-hooks-memory-") as spool:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_hooks", "--memory-child", str(seconds), "--spool", spool],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            env={**os.environ, "AUTOSCOPE_CONFIG": os.devnull},
        )
    if out.returncode != 0:
        raise RuntimeError(f"memory child failed: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    stage = f"hooks: collector down, {result['rate']:.0f} events/s for {seconds / 60:g} min"
    growth = result["growth_after_warmup_mib"]
    return [
        _hook_row(
            stage,
            "resident memory growth after warm-up (first 25 %)",
            growth,
            "MiB",
            "resident memory after warm-up",
            result["rss_after_warmup_mib"],
            growth / result["rss_after_warmup_mib"],
            f"bounded: ≤ {MEMORY_GROWTH_GOAL_MIB:g} MiB",
            growth <= MEMORY_GROWTH_GOAL_MIB,
            command,
        ),
        _hook_row(
            stage,
            "spool on disk (cap 20 MiB)",
            result["spool_bytes"] / 2**20,
            "MiB",
            "spool cap",
            20.0,
            result["spool_bytes"] / 2**20 / 20.0,
            "≤ the cap",
            result["spool_bytes"] <= 20 * 2**20,
            command,
        ),
        _hook_row(
            stage,
            "hook median while the collector is down",
            result["call_median_us"],
            "µs",
            "bare OTel log emit in the same paced loop, median",
            result["otel_median_us"],
            result["call_median_us"] / result["otel_median_us"],
            f"≤ {RATIO_GOAL}× bare OTel log emit",
            result["call_median_us"] <= RATIO_GOAL * result["otel_median_us"],
            command,
        ),
        _hook_row(
            stage,
            "hook p99 while the collector is down",
            result["call_p99_us"],
            "µs",
            "bare OTel log emit in the same paced loop, p99",
            result["otel_p99_us"],
            result["call_p99_us"] / result["otel_p99_us"],
            f"≤ {P99_GOAL_US:g} µs p99",
            result["call_p99_us"] <= P99_GOAL_US,
            command,
        ),
        _hook_row(
            stage,
            "events spooled / dropped when the spool was full",
            result["spooled"],
            "events",
            "events emitted",
            result["events"],
            result["spooled"] / max(result["events"], 1),
            "every event spooled or counted as dropped",
            result["spooled"] + result["dropped"] + result["pending"] >= result["events"],
            command,
        ),
    ]


def run(quick: bool = False, minutes: float | None = None, memory: bool = True) -> list[dict[str, Any]]:
    rows = latency_rows(quick)
    if memory:
        rows += memory_rows(minutes if minutes is not None else (None if quick else 10), quick)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples; a ~20 s memory check")
    parser.add_argument("--minutes", type=float, help="length of the memory check (default 10; quick: 1/3)")
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--memory-child", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--spool", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child is not None:
        print(json.dumps(memory_child(args.memory_child, 1000, args.spool)))
        return 0
    if args.memory_only:
        rows = memory_rows(args.minutes if args.minutes is not None else (None if args.quick else 10), args.quick)
    else:
        rows = run(args.quick, args.minutes, memory=not args.no_memory)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(
                f"{'OK ' if row['met'] else 'MISS'} {row['measure']:<58} {row['value']:>10.3f} {row['unit']:<6}"
                f" vs {row['baseline_value']:>9.3f} ({row['ratio']:.2f}×)  goal {row['goal']}"
            )
    return 0 if all(row["met"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
