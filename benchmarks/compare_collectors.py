"""Same-run A/B of the collector: this tree's against a git revision's, alternately, one broker.

``python -m benchmarks.compare_collectors REV [--rounds N] [--payload otlp-protobuf]``

Why: on a shared machine a collector's throughput moves ±15 % (and its CPU per record ±10 %)
from one minute to the next with the other workloads, more than one change saves. Running the
two collectors alternately (base, new; then new, base; …) under the suite's load
(:func:`benchmarks.common.drive`, 16 connections, batches of 500, 10 s) puts both under the
same conditions, and the pairwise ratio of their CPU per record is the figure to read.

The revision's code is exported with ``git archive`` into a temporary directory and imported
in its collector process instead of this tree's (the editable install's finder is removed
there); the load generator and this script are this tree's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, drive, embedded_broker, free_port, stop_process, wait_http

PACKAGES = ("core", "agents", "collector", "warehouse", "pipelines")  # pyproject's package-dir
_NO_EDITABLE = (
    "import sys\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
    "sys.path[:] = [p for p in sys.path if p not in ('', {root!r})]\n"
)


def export_revision(revision: str, into: Path) -> Path:
    """``revision``'s tree laid out as the installed ``autoscope`` package; returns its import root."""
    tree = into / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    root = into / "import"
    package = root / "autoscope"
    package.parent.mkdir()
    (tree / "autoscope").rename(package)
    for name in PACKAGES:
        (package / name).symlink_to(tree / name)
    (root / "benchmarks").symlink_to(ROOT / "benchmarks")  # the server entry point: this tree's
    (root / "sitecustomize.py").write_text(_NO_EDITABLE.format(root=str(ROOT)))
    return root


def measure(cwd: Path, env: dict[str, str], bootstrap: str, topic: str, payload: str) -> tuple[float, float]:
    """(records/s, µs of collector CPU per record) of one collector started from ``cwd``."""
    with tempfile.TemporaryDirectory(prefix="autoscope-ab-") as data:
        port = free_port()
        command = [sys.executable, "-m", "benchmarks.servers", "collector", "--port", str(port), "--data-dir", data]
        command += ["--bootstrap", bootstrap, "--topic", topic, "--workers", "1"]
        with open(Path(data) / "collector.log", "ab") as log:
            process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_http(f"http://127.0.0.1:{port}/healthz", timeout_s=90, process=process)
                drive(port, process.pid, duration=2.0)  # warm-up: imports, the producer's connection
                drive(port, process.pid, payload=payload, batch=500, connections=16, duration=3.0)
                result = drive(port, process.pid, payload=payload, batch=500, connections=16, duration=10.0)
            finally:
                stop_process(process)
    records = result["events_2xx"]
    return records / result["elapsed_s"], result["server_cpu_s"] / records * 1e6


def main() -> None:
    description = __doc__.splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare_collectors", description=description)
    parser.add_argument("revision", help="the base: a commit, tag or branch")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--payload", default="otlp-protobuf", choices=("native", "otlp-protobuf", "otlp-json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autoscope-base-") as scratch, embedded_broker() as broker:
        base_root = export_revision(args.revision, Path(scratch))
        trees = {
            "base": (base_root, {**os.environ, "PYTHONPATH": str(base_root)}),
            "new": (ROOT, dict(os.environ)),
        }
        from autoscope.core.kafka_settings import ensure_topic

        topic = f"bench.compare.{int(time.time())}"
        ensure_topic(broker.settings(topic=topic))
        cpu: dict[str, list[float]] = {"base": [], "new": []}
        for i in range(args.rounds):
            for name in ("base", "new") if i % 2 == 0 else ("new", "base"):
                rate, us = measure(*trees[name], broker.bootstrap_servers, topic, args.payload)
                cpu[name].append(us)
                print(f"round {i} {name}: {rate:,.0f} records/s, {us:.2f} µs CPU/record", flush=True)
        ratios = [new / base for new, base in zip(cpu["new"], cpu["base"], strict=True)]
        print(f"CPU per record, new / base ({args.revision}), per round: {', '.join(f'{r:.3f}' for r in ratios)}")
        print(f"median ratio {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
