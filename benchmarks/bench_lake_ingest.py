"""Kafka → DuckLake: events/s stored exactly once by 1 and by 2 ingester processes, and their memory.

Setup: a throwaway PostgreSQL (:class:`~autoscope.postgres_dev.DevPostgres`) for the lakes'
catalogs, data files in a temporary folder; the embedded broker; one topic of 4 partitions
holding N events as the collector's forwarder writes them (JSON arrays of up to 500 events of
one key bucket each, sent to the bucket's partition, :mod:`autoscope.core.event_keys`).
Then, on the same topic, each with a fresh lake and consumer group:

* 1 ingester process (``python -m autoscope.warehouse.ingester --share 0/1``, all 4 partitions);
* 2 ingester processes (``--share 0/2`` and ``--share 1/2``, 2 partitions each).

The rate is taken from each run's first committed batch to its last (the DEBUG log's commit
lines, with their times), so process start, lake attach and migration are left out. Peak RSS
is the largest resident set any one ingester process reached (psutil, sampled every 0.2 s).
After each run ``count(*)`` and ``count(DISTINCT event_id)`` of ``event_ids`` are checked
against N. The baseline of the 2-process row is the 1-process rate of the same run: the
ratio says what a second ingester buys.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.common import EventIds, command_for, embedded_broker, native_events, row

STAGE = "Kafka → DuckLake"
PARTITIONS = 4
_COMMIT = re.compile(r"^(\S+ \S+) DEBUG \S+: committed batch: (\d+) new")


def _messages(total: int) -> list[tuple[int, bytes]]:
    """(partition, message) as the forwarder sends them: one key bucket per message."""
    from autoscope.collector import contract
    from autoscope.collector.intake import spool_records
    from autoscope.core.event_keys import record_bucket

    ids = EventIds()
    out = []
    for start in range(0, total, 5000):
        events = [contract.convert_event(d) for d in native_events(min(5000, total - start), ids)]
        for record in spool_records(events, 500, 900_000, PARTITIONS):
            bucket = record_bucket(record, PARTITIONS)
            assert bucket is not None
            out.append((bucket, record))
    return out


class _Run:
    """``count`` ingester processes over one fresh lake; their commits and peak RSS."""

    def __init__(self, settings: Any, lake: Any, count: int, log_dir: Path) -> None:
        self.processes = []
        self.commits: list[tuple[dt.datetime, int]] = []
        self.peak_rss = 0
        self._lock = threading.Lock()
        for index in range(count):
            log = open(log_dir / f"ingester-{count}-{index}.log", "w")  # noqa: SIM115 - closed with the process
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "autoscope.warehouse.ingester",
                    "--bootstrap",
                    settings.bootstrap_servers,
                    "--topic",
                    settings.topic,
                    "--group",
                    f"bench-{uuid.uuid4().hex[:8]}",
                    "--lake-catalog",
                    lake.catalog,
                    "--lake-data",
                    lake.data_path,
                    "--share",
                    f"{index}/{count}",
                    "--log-level",
                    "DEBUG",
                ],
                stderr=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                text=True,
            )
            self.processes.append(process)
            threading.Thread(target=self._read, args=(process, log), daemon=True).start()

    def _read(self, process: subprocess.Popen[str], log: Any) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            log.write(line)
            match = _COMMIT.match(line)
            if match:
                at = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
                with self._lock:
                    self.commits.append((at, int(match.group(2))))
        log.close()

    def stored(self) -> int:
        with self._lock:
            return sum(new for _, new in self.commits)

    def wait(self, total: int, timeout_s: float) -> None:
        import psutil

        watched = [psutil.Process(p.pid) for p in self.processes]
        deadline = time.monotonic() + timeout_s
        while self.stored() < total and time.monotonic() < deadline:
            for process in watched:
                try:
                    self.peak_rss = max(self.peak_rss, process.memory_info().rss)
                except psutil.NoSuchProcess:
                    pass
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError("an ingester process exited during the benchmark (see its log)")
            time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(60)

    def rate(self) -> tuple[float, float]:
        """(events/s from the first commit to the last, seconds) of the events after the first batch."""
        with self._lock:
            commits = sorted(self.commits)
        if len(commits) < 2:
            return 0.0, 0.0
        seconds = (commits[-1][0] - commits[0][0]).total_seconds()
        events = sum(new for _, new in commits[1:])
        return (events / seconds if seconds else 0.0), seconds


def _exact(lake: Any, total: int) -> tuple[bool, int, int]:
    from autoscope.warehouse.lake import connect_lake

    conn = connect_lake(lake)
    try:
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM event_ids").fetchall()[0]
    finally:
        conn.close()
    return rows == distinct == total, int(rows), int(distinct)


def run(quick: bool = False) -> list[dict[str, Any]]:
    from kafka import KafkaProducer

    from autoscope.core.kafka_settings import ensure_topic
    from autoscope.postgres_dev import DevPostgres
    from autoscope.warehouse.lake import LakeLocation

    total = 20_000 if quick else 100_000
    command = command_for("lake_ingest", quick)
    messages = _messages(total)
    results: dict[int, dict[str, Any]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="autoscope-bench-lake-") as tmp,
        embedded_broker() as broker,
        DevPostgres() as postgres,
    ):
        directory = Path(tmp)
        settings = broker.settings(topic=f"bench.lake.{int(time.time())}", partitions=PARTITIONS)
        ensure_topic(settings)
        producer = KafkaProducer(
            **settings.client_kwargs(), acks="all", linger_ms=5, batch_size=1024 * 1024, max_request_size=16 << 20
        )
        for partition, message in messages:
            producer.send(settings.topic, message, partition=partition)
        producer.flush()
        producer.close()
        for count in (1, 2):
            database = f"bench_lake_{count}_{uuid.uuid4().hex[:6]}"
            lake = LakeLocation(f"postgres:{postgres.create_database(database)}", str(directory / database))
            started = time.perf_counter()
            ingesters = _Run(settings, lake, count, directory)
            try:
                ingesters.wait(total, timeout_s=900)
            finally:
                ingesters.stop()
            rate, seconds = ingesters.rate()
            exact, rows, distinct = _exact(lake, total)
            results[count] = {
                "rate": rate,
                "seconds": seconds,
                "wall": time.perf_counter() - started,
                "batches": len(ingesters.commits),
                "rss": ingesters.peak_rss / 1e6,
                "exact": exact,
                "rows": rows,
                "distinct": distinct,
            }
    one, two = results[1], results[2]
    note = (
        "{n} ingester(s): {batches} transactions in {seconds:.1f} s (wall incl. start and attach {wall:.1f} s); "
        "stored {rows:,} rows, {distinct:,} distinct (exactly once: {exact})"
    )
    return [
        row(
            STAGE,
            f"1 ingester process, {PARTITIONS} partitions ({total:,} events, messages of ≤ 500 of one key bucket)",
            one["rate"],
            "events/s",
            met=one["exact"],
            goal="exactly once",
            command=command,
            note=note.format(n=1, **one),
        ),
        row(
            STAGE,
            f"2 ingester processes (--share 0/2, 1/2), same topic ({total:,} events)",
            two["rate"],
            "events/s",
            baseline="1 ingester process, same run",
            baseline_value=one["rate"],
            goal="exactly once; > 1× the single process",
            met=two["exact"] and two["rate"] > one["rate"],
            command=command,
            note=note.format(n=2, **two),
        ),
        row(
            STAGE,
            "peak RSS of one ingester process, 1 / 2 processes",
            two["rss"],
            "MB",
            baseline="one process alone, same run",
            baseline_value=one["rss"],
            command=command,
            note=f"1 process: {one['rss']:.0f} MB; each of 2: up to {two['rss']:.0f} MB",
        ),
    ]
