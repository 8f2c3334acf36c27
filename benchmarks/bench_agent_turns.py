"""What re-deriving coding agents' turns costs the ingester per batch (issue 12).

The ingester re-derives the tasks of every session a batch has a turn fact of, in the batch's
transaction (``warehouse/agent_turns.py``: the table macro ``agent_turns_in`` over the batch's
sessions only). This measures that step on a real DuckDB file holding ``facts`` facts
(sessions of 50 facts, turns of 10), for a batch touching two sessions and for a batch with no
fact at all. The baseline, in the same run, is assembling every turn of the warehouse (the view
``agent_turns``): what the step would cost if it were not limited to the batch's sessions::

    python -m benchmarks --only agent_turns
    .venv/bin/python -m benchmarks.bench_agent_turns [--facts 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from autoscope.warehouse.agent_turns import refresh_turn_tasks
from autoscope.warehouse.schema import migrate
from benchmarks.common import row

COMMAND = "python -m benchmarks --only agent_turns"


def _median_s(repeat: int, step) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(facts: int, repeat: int) -> dict[str, float]:
    """Median seconds of each step over a warehouse of ``facts`` turn facts."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = duckdb.connect(str(Path(tmp) / "w.duckdb"))
        migrate(conn)
        conn.execute(
            "INSERT INTO agent_turn_facts (event_id, occurred_at, actor, team, tool, tool_version, session_id,"
            " turn_id, kind, model, duration_s) SELECT 'e' || i, TIMESTAMP '2026-01-01' + to_seconds(i), 'a', 't',"
            " 'x', '1', 's' || (i // 50), 'p' || (i // 10), CASE WHEN i % 10 = 0 THEN 'prompt' ELSE 'model_call' END,"
            " 'm', 1.0 FROM range(?) t(i)",
            [facts],
        )
        conn.register("with_facts", pa.table({"event_id": ["e5", f"e{facts // 2 + 5}"]}))
        conn.register("without", pa.table({"event_id": ["not-a-fact"]}))

        def refresh(view: str):
            def step() -> None:
                conn.execute("BEGIN")
                refresh_turn_tasks(conn, view)
                conn.execute("COMMIT")

            return step

        out = {view: _median_s(repeat, refresh(view)) for view in ("with_facts", "without")}
        out["everything"] = _median_s(repeat, lambda: conn.execute("SELECT count(*) FROM agent_turns").fetchall())
        conn.close()
    return out


def run(quick: bool = False) -> list[dict[str, Any]]:
    facts = 20_000 if quick else 200_000
    times = measure(facts, 3 if quick else 5)
    baseline = f"assembling every turn of the warehouse (view agent_turns), {facts:,} facts"
    return [
        row(
            "agent_turns",
            f"re-derive a batch's 2 sessions, {facts:,} facts stored (median)",
            times["with_facts"] * 1000,
            "ms",
            baseline=baseline,
            baseline_value=times["everything"] * 1000,
            goal="below the whole-warehouse baseline",
            met=times["with_facts"] < times["everything"],
            command=COMMAND,
        ),
        row(
            "agent_turns",
            f"a batch with no turn fact, {facts:,} facts stored (median)",
            times["without"] * 1000,
            "ms",
            baseline=baseline,
            baseline_value=times["everything"] * 1000,
            command=COMMAND,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times = measure(args.facts, args.repeat)
    for name, seconds in times.items():
        print(f"{name}: median {seconds * 1000:.1f} ms over {args.facts:,} facts")


if __name__ == "__main__":
    main()
