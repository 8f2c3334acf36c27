"""Kafka → DuckDB: events/s ingested exactly once by the warehouse ingester.

Setup: the embedded broker; a fresh topic holding N events as the collector writes them (JSON
arrays of 500 events per Kafka message, encoded with the contract's encoder); a fresh DuckDB
file; the real :class:`~autoscope.warehouse.ingester.Ingester` (consumer group, offsets in the
same transaction, unique event_id) run in this process until all N are stored. The rate is
taken from the first committed batch to the last, so the consumer-group join (about 3 s on
the embedded broker) is left out; the total including the join is in the note. After the
run, ``COUNT(*)`` and ``COUNT(DISTINCT event_id)`` are checked against N (exactly once).

Baseline in the same run: the same rows, already as Arrow tables (built with the writer's own
layouts), bulk-inserted into a fresh migrated DuckDB file: ``event_ids`` (primary key) plus
the per-type tables, one transaction, no Kafka, no decoding.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import EventIds, command_for, embedded_broker, native_events, row

STAGE = "Kafka → DuckDB"
EVENTS_PER_MESSAGE = 500


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_by_thread() -> dict[str, float]:
    """CPU seconds so far per kind of thread of this process: the polling thread (this one),
    the ingester's writer and log-check threads, and the rest (Kafka clients' I/O threads,
    DuckDB's own workers)."""
    import threading

    import psutil

    names = {t.native_id: t.name for t in threading.enumerate()}
    main = threading.main_thread().native_id
    out: dict[str, float] = {}
    for t in psutil.Process().threads():
        name = names.get(t.id, "")
        kind = (
            "polling"
            if t.id == main
            else "writer"
            if name.startswith("autoscope-commit")
            else "log check"
            if name.startswith("autoscope-logcheck")
            else "other"
        )
        out[kind] = out.get(kind, 0.0) + t.user_time + t.system_time
    return out


def _messages(total: int) -> list[bytes]:
    from autoscope.collector import contract

    ids = EventIds()
    out = []
    for start in range(0, total, EVENTS_PER_MESSAGE):
        dicts = native_events(min(EVENTS_PER_MESSAGE, total - start), ids)
        events = [contract.convert_event(d) for d in dicts]  # as the collector would spool them
        out.append(contract.encode_events(events))
    return out


def _baseline(messages: list[bytes], directory: Path) -> float:
    """Rows/s of an Arrow → DuckDB bulk insert of the same events (decoding not timed)."""
    import datetime as dt

    import duckdb
    import pyarrow as pa

    from autoscope.collector import contract
    from autoscope.warehouse.columns import event_type, table_layouts
    from autoscope.warehouse.schema import migrate

    conn = duckdb.connect(str(directory / "baseline.duckdb"))
    migrate(conn)
    layouts = table_layouts(conn)
    events = [e for m in messages for e in contract.decode_events(m)]
    now = dt.datetime.now()
    ids = pa.table(
        {
            "event_id": pa.array([e.event_id for e in events], pa.string()),
            "type": pa.array([event_type(e) for e in events], pa.string()),
            "ingested_at": pa.array([now] * len(events), pa.timestamp("us")),
            "kafka_topic": pa.array(["t"] * len(events), pa.string()),
            "kafka_partition": pa.array([0] * len(events), pa.int32()),
            "kafka_offset": pa.array([i // EVENTS_PER_MESSAGE for i in range(len(events))], pa.int64()),
        }
    )
    by_type: dict[str, list[Any]] = {}
    for e in events:
        by_type.setdefault(event_type(e), []).append(e)
    tables = {t: layouts[t].build(es) for t, es in by_type.items()}
    start = time.perf_counter()
    conn.execute("BEGIN TRANSACTION")
    conn.register("ids_view", ids)
    conn.execute("INSERT INTO event_ids BY NAME SELECT * FROM ids_view")
    for t, table in tables.items():
        conn.register(f"v_{t}", table)
        conn.execute(f"INSERT INTO {layouts[t].table} BY NAME SELECT * FROM v_{t}")
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(events) / elapsed


def run(quick: bool = False) -> list[dict[str, Any]]:
    from kafka import KafkaProducer

    from autoscope.core.kafka_settings import ensure_topic
    from autoscope.warehouse.ingester import Ingester

    total = 200_000 if quick else 1_000_000
    command = command_for("ingest", quick)
    messages = _messages(total)
    with tempfile.TemporaryDirectory(prefix="autoscope-bench-ingest-") as tmp, embedded_broker() as broker:
        directory = Path(tmp)
        baseline = _baseline(messages, directory)
        settings = broker.settings(topic=f"bench.ingest.{int(time.time())}")
        ensure_topic(settings)
        # as the collector's forwarder produces them (collector/sinks/forwarder.py)
        producer = KafkaProducer(
            **settings.client_kwargs(),
            acks="all",
            linger_ms=5,
            batch_size=1024 * 1024,
            max_request_size=16 * 1024 * 1024,
        )
        t0 = time.perf_counter()
        for m in messages:
            producer.send(settings.topic, m)
        producer.flush()
        produce_s = time.perf_counter() - t0
        producer.close()

        db = directory / "warehouse.duckdb"
        start = time.perf_counter()
        ingester = Ingester(settings, db)
        first_at = None
        first_events = 0
        cpu0 = None
        threads0: dict[str, float] = {}
        try:
            while ingester.stats.ingested < total and time.perf_counter() - start < 600:
                ingester.step()
                if first_at is None and ingester.stats.batches:
                    first_at, first_events, cpu0 = time.perf_counter(), ingester.stats.ingested, _cpu_self()
                    threads0 = _cpu_by_thread()
            end = time.perf_counter()
            cpu1 = _cpu_self()
            threads1 = _cpu_by_thread()
            stats = ingester.stats
            with ingester.cursor() as cur:
                stored, distinct = cur.execute("SELECT count(*), count(DISTINCT event_id) FROM event_ids").fetchone()
        finally:
            ingester.close()
    steady_events = stats.ingested - first_events
    steady_s = (end - first_at) if first_at else float("nan")
    rate = steady_events / steady_s if steady_events else 0.0
    cpu_us = (cpu1 - cpu0) / steady_events * 1e6 if steady_events and cpu0 is not None else None
    exact = stored == distinct == total
    by_thread = (
        ", ".join(
            f"{kind} {(threads1.get(kind, 0.0) - threads0.get(kind, 0.0)) / steady_events * 1e6:.1f}"
            for kind in ("polling", "writer", "log check", "other")
        )
        if steady_events and cpu0 is not None
        else "n/a"
    )
    return [
        row(
            STAGE,
            f"events/s ingested exactly once ({total:,} events, {len(messages)} messages of {EVENTS_PER_MESSAGE})",
            rate,
            "events/s",
            baseline="Arrow → DuckDB bulk insert of the same rows, no Kafka",
            baseline_value=baseline,
            goal="≥ 100,000 events/s",
            met=rate >= 100_000 and exact,
            command=command,
            cpu_us_per_event=cpu_us,
            note=(
                f"{stats.batches} transactions; total incl. group join {end - start:.1f} s; "
                f"stored {stored:,} rows, {distinct:,} distinct (exactly once: {exact}); "
                f"producing the topic took {produce_s:.1f} s; CPU is the whole ingesting process; "
                f"by thread, µs/event: {by_thread} (the polling thread decodes and validates, "
                f"the writer thread runs the DuckDB transactions)"
            ),
        )
    ]
