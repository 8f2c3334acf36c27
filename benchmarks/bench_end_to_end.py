"""End to end: latency from a hook call to the event's row being visible in the warehouse.

Setup, the embedded default as ``autoscope up`` runs it: one service process (embedded Tansu
broker, collector, ingester; ``benchmarks.servers service``). A second process is the lab tool
(``python -m benchmarks.bench_end_to_end --tool``, a fresh interpreter so no other benchmark's
hook configuration leaks in): it calls the ``autoscope.agents`` hooks (``contribution``,
default settings: batches sent every 1 s) at a steady rate and notes the wall-clock time of
each call. Inside the service process a
recorder reads ``event_ids`` every 20 ms through the ingester's own DuckDB instance and notes
when each event became visible (committed). Latency = visible − called, per event.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, command_for, percentile, row, stop_process

STAGE = "end to end"


def tool(endpoint: str, rate: float, duration: float, spool_dir: str, out: str) -> None:
    """The lab tool: hook calls at ``rate`` per second; writes {event_id: call time} to ``out``."""
    from autoscope import agents

    agents.configure(
        collector_url=endpoint,
        team="bench",
        tool="bench",
        tool_version="1.0",
        actor="bench@lab.example",
        spool_dir=spool_dir,
    )
    # warm-up: the first request opens the connection; the ingester has already joined
    agents.contribution(kind="commit", first_author="ai", ai_share=0.5)
    agents.flush(10)
    called: dict[str, float] = {}
    start = time.monotonic()
    n = 0
    while True:
        due = start + n / rate
        if due - start >= duration:
            break
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = time.time()
        event_id = agents.contribution(kind="commit", first_author="ai", ai_share=0.5)
        if event_id:
            called[event_id] = t
        n += 1
    agents.flush(15)
    stats = agents.stats()
    agents.shutdown(5)
    Path(out).write_text(json.dumps({"called": called, "stats": stats}))


def run(quick: bool = False) -> list[dict[str, Any]]:
    rate = 200.0  # hook calls per second
    duration = 10.0 if quick else 30.0
    command = command_for("end_to_end", quick)
    with tempfile.TemporaryDirectory(prefix="autoscope-bench-e2e-") as tmp:
        data_dir = Path(tmp) / "data"
        log = open(Path(tmp) / "service.log", "wb")
        service = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.servers", "service", "--data-dir", str(data_dir)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert service.stdout is not None
            line = service.stdout.readline()
            if not line:
                raise RuntimeError(f"service did not start: {(Path(tmp) / 'service.log').read_text()[-2000:]}")
            endpoint = json.loads(line)["endpoint"]
            out = Path(tmp) / "called.json"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.bench_end_to_end",
                    "--tool",
                    endpoint,
                    str(rate),
                    str(duration),
                    str(Path(tmp) / "hook-spool"),
                    str(out),
                ],
                cwd=ROOT,
                check=True,
                timeout=duration + 120,
            )
            time.sleep(3.0)  # let the last batch reach the warehouse
            result = json.loads(out.read_text())
        finally:
            stop_process(service, 60)
            log.close()
        recorded_path = data_dir / "visible.json"
        if not recorded_path.exists():  # the service died before writing it: a failed run, not "0 visible"
            raise RuntimeError(
                f"the service wrote no visible.json; its log: {(Path(tmp) / 'service.log').read_text()[-2000:]}"
            )
        recorded = json.loads(recorded_path.read_text())
    visible, recorder_errors = recorded["visible"], recorded["error_count"]
    called, hook_stats = result["called"], result["stats"]
    latencies = [visible[e] - t for e, t in called.items() if e in visible]
    missing = len(called) - len(latencies)
    p50, p95, p99 = (percentile(latencies, q) for q in (50, 95, 99))
    note = (
        f"{len(called):,} hook calls at {rate:.0f}/s for {duration:.0f} s; {missing} not visible "
        f"by the end; p99 {p99 or 0:.2f} s, max {max(latencies, default=0):.2f} s; hook stats: "
        f"sent {hook_stats.get('sent')}, dropped {hook_stats.get('dropped')}, errors {hook_stats.get('errors')}"
        + (f"; recorder errors {recorder_errors}: {recorded['errors'][-1]}" if recorder_errors else "")
    )
    return [
        row(
            STAGE,
            "hook call → row visible in the warehouse, p50",
            p50,
            "s",
            goal="—",
            met=None,
            command=command,
            note=note,
        ),
        row(
            STAGE,
            "hook call → row visible in the warehouse, p95",
            p95,
            "s",
            goal="p95 ≤ 5 s on the embedded default",
            met=(p95 is not None and p95 <= 5.0 and missing == 0),
            command=command,
            note=note,
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--tool":
        tool(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6])
    else:
        sys.exit("usage: python -m benchmarks.bench_end_to_end --tool ENDPOINT RATE SECONDS SPOOL_DIR OUT")
