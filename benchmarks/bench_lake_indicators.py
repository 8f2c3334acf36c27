"""Indicator jobs over the DuckLake warehouse at 10 M and 100 M events (``--quick``: 1 M only).

Setup, per size, in a child process of its own (so its peak memory is its own): a fresh lake —
its catalog in a throwaway PostgreSQL (:class:`autoscope.postgres_dev.DevPostgres`, one per
benchmark run), its Parquet data files in a temporary folder — migrated, and filled directly by
SQL (``INSERT ... SELECT`` from ``range()``, the same generator and shape as
:mod:`benchmarks.bench_indicators`; no Kafka, no ingester: this measures the jobs over a lake).

Timed: :func:`autoscope.pipelines.jobs.compute_indicators` on a connection attached at the
lake's snapshot after the fill (read-only, as a release reads it): one cold run, then one warm
run; the row is the warm run. Peak memory: the child's peak RSS (VmHWM, reset after the fill)
during the cold run. Growth: time(largest) / time(smallest) per ×N events (1.0 = linear).

Baseline in the same child: ``SELECT week, team, COUNT(*) FROM tasks GROUP BY week, team`` over
the same lake table, timed the same way.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from autoscope.pipelines.indicators.registry import REGISTRY
from benchmarks.bench_indicators import BASELINE_SQL, fill
from benchmarks.common import command_for, measure_in_child, row

STAGE = "lake_indicators"
EVENT_TABLES = (
    "tasks",
    "reviews",
    "experiments",
    "contributions",
    "spend",
    "impressions",
    "model_deployments",
    "training_milestones",
)


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _data_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(size: int, catalog: str, data_path: str) -> dict[str, Any]:
    """In the child: fill the lake, then time the job and the baseline at the fill's snapshot."""
    from autoscope.pipelines import jobs
    from autoscope.warehouse.lake import LakeLocation, connect_lake, current_snapshot
    from autoscope.warehouse.schema import migrate

    location = LakeLocation(catalog, data_path)
    writer = connect_lake(location)
    writer.execute("SET enable_progress_bar = false")
    migrate(writer)
    t0 = time.perf_counter()
    fill(writer, size)
    fill_s = time.perf_counter() - t0
    snapshot = current_snapshot(writer)
    writer.close()

    conn = connect_lake(location, snapshot=snapshot)
    conn.execute("SET enable_progress_bar = false")
    events = sum(conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in EVENT_TABLES)
    start = time.perf_counter()
    conn.execute(BASELINE_SQL).fetchall()
    baseline_cold = time.perf_counter() - start
    start = time.perf_counter()
    conn.execute(BASELINE_SQL).fetchall()
    baseline = time.perf_counter() - start
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS counter after the fill
        before = _peak_rss_mb()
    except OSError:
        before = float("nan")
    start = time.perf_counter()
    frame = jobs.compute_indicators(conn)
    cold = time.perf_counter() - start
    peak = _peak_rss_mb()
    start = time.perf_counter()
    jobs.compute_indicators(conn)
    warm = time.perf_counter() - start
    conn.close()
    return {
        "events": events,
        "fill_s": fill_s,
        "snapshot": snapshot,
        "cold": cold,
        "elapsed": warm,
        "baseline": baseline,
        "baseline_cold": baseline_cold,
        "cells": frame.height,
        "peak_mb": peak,
        "rss_before_mb": before,
        "data_mb": _data_bytes(Path(data_path)) / 1e6,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    from autoscope.postgres_dev import DevPostgres

    sizes = (1_000_000,) if quick else (10_000_000, 100_000_000)
    command = command_for(STAGE, quick)
    rows, times = [], {}
    with DevPostgres() as pg, tempfile.TemporaryDirectory(prefix="autoscope-bench-lake-") as tmp:
        for size in sizes:
            catalog = "postgres:" + pg.create_database(f"bench_{size}")
            data_path = str(Path(tmp) / f"lake{size}")
            m, error = measure_in_child("bench_lake_indicators", f"measure({size}, {catalog!r}, {data_path!r})", 3600)
            if m is None:
                rows.append(
                    row(
                        STAGE,
                        f"all indicators over the lake, {size / 1e6:g} M events",
                        None,
                        "s",
                        command=command,
                        note="failed: " + error,
                    )
                )
                continue
            print(json.dumps({"size": size, **m}), file=sys.stderr)  # the raw figures, for the record
            times[size] = m["elapsed"]
            rows.append(
                row(
                    STAGE,
                    f"all {len(REGISTRY)} indicators over the lake (PostgreSQL catalog, Parquet), "
                    f"{m['events'] / 1e6:.3g} M events",
                    m["elapsed"],
                    "s",
                    baseline="COUNT(*) GROUP BY week, team over the same lake tasks table",
                    baseline_value=m["baseline"],
                    command=command,
                    peak_rss_mb=round(m["peak_mb"], 1),
                    note=(
                        f"{m['cells']:,} rows; warm run (cold {m['cold']:.1f} s); peak RSS {m['peak_mb']:.0f} MB "
                        f"during the cold run; at snapshot {m['snapshot']}; fill {m['fill_s']:.1f} s; "
                        f"data files {m['data_mb']:.0f} MB"
                    ),
                )
            )
            shutil.rmtree(data_path, ignore_errors=True)  # the next size's disk
    if len(times) >= 2:
        smallest, largest = min(times), max(times)
        growth = (times[largest] / times[smallest]) / (largest / smallest)
        rows.append(
            row(
                STAGE,
                f"lake growth: time({largest / 1e6:g} M) / time({smallest / 1e6:g} M)"
                f" per ×{largest // smallest} events",
                growth,
                "× linear",
                goal="linear growth (≤ 1.2× linear)",
                met=growth <= 1.2,
                command=command,
                note="1.0 = exactly linear; below 1 = fixed costs (the per-period bootstrap) dominate the small size",
            )
        )
    return rows


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=1, default=str))
