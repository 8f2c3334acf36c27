"""What re-deriving coding agents' turns costs the ingester per batch (issue 12).

The ingester re-derives the tasks of every session a batch has a turn fact of, in the batch's
transaction (``warehouse/agent_turns.py``). This measures that step on a real DuckDB file
holding ``--facts`` facts (sessions of 50 facts, turns of 10), for a batch touching two
sessions and for a batch with no fact at all::

    .venv/bin/python -m benchmarks.bench_agent_turns [--facts 200000] [--repeat 5]

It prints the median seconds of each. Not part of ``python -m benchmarks`` (a single step, not
a throughput goal); the whole ingester's throughput is ``bench_ingest``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
from autoscope.warehouse.agent_turns import refresh_turn_tasks
from autoscope.warehouse.schema import migrate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        conn = duckdb.connect(str(Path(tmp) / "w.duckdb"))
        migrate(conn)
        conn.execute(
            "INSERT INTO agent_turn_facts (event_id, occurred_at, actor, team, tool, tool_version, session_id,"
            " turn_id, kind, model, duration_s) SELECT 'e' || i, TIMESTAMP '2026-01-01' + to_seconds(i), 'a', 't',"
            " 'x', '1', 's' || (i // 50), 'p' || (i // 10), CASE WHEN i % 10 = 0 THEN 'prompt' ELSE 'model_call' END,"
            " 'm', 1.0 FROM range(?) t(i)", [args.facts])
        conn.register("with_facts", pa.table({"event_id": ["e5", f"e{args.facts // 2 + 5}"]}))
        conn.register("without", pa.table({"event_id": ["not-a-fact"]}))
        for view in ("with_facts", "without"):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                conn.execute("BEGIN")
                refresh_turn_tasks(conn, view)
                conn.execute("COMMIT")
                times.append(time.perf_counter() - start)
            print(f"{view}: median {statistics.median(times) * 1000:.1f} ms per batch over {args.facts:,} facts")


if __name__ == "__main__":
    main()
