"""Crash test: SIGKILL the ingester process mid-stream, again and again; every event once."""

from __future__ import annotations

import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autoscope.core.kafka_settings import KafkaSettings
from autoscope.warehouse.columns import TABLE_BY_TYPE
from autoscope.warehouse.reader import event_counts, open_read_only, total_events
from tests.warehouse.streams import make_events, produce, type_counts

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = 4000
PER_MESSAGE = 5
KILLS = 3
_COMMITTED = re.compile(r"committed batch: .*next offsets \S+/0=(\d+)")


class IngesterProcess:
    """``python -m autoscope.warehouse.ingester`` as a subprocess, its log read line by line."""

    def __init__(self, settings: KafkaSettings, db: Path) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autoscope.warehouse.ingester",
                "--bootstrap",
                settings.bootstrap_servers,
                "--topic",
                settings.topic,
                "--db",
                str(db),
                "--group",
                settings.consumer_group,
                "--max-records",
                "10",
                "--log-level",
                "DEBUG",
                # a killed member leaves the group when its session expires: keep that short
                "--session-timeout-ms",
                "2000",
            ],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for_commit(self, timeout: float, at_least_offset: int = 0) -> int:
        """Wait for a committed batch reaching ``at_least_offset``; returns its next offset."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.log.append(line)
            match = _COMMITTED.search(line)
            if match and int(match.group(1)) >= at_least_offset:
                return int(match.group(1))
        raise AssertionError("no committed batch in time; log:\n" + "".join(self.log[-40:]))


def test_sigkill_mid_stream_loses_and_duplicates_nothing(kafka: KafkaSettings, tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("AUTOSCOPE_CRASH_SEED", "7")))
    events = make_events(EVENTS)
    # the collector's replay after its own crash: a run of messages sent twice
    messages = produce(kafka, events[:2000], PER_MESSAGE)
    messages += produce(kafka, events[1500:2000], PER_MESSAGE)
    messages += produce(kafka, events[2000:], PER_MESSAGE)
    db = tmp_path / "warehouse.duckdb"

    reached = 0
    for _ in range(KILLS):
        ingester = IngesterProcess(kafka, db)
        try:
            # kill a few batches after it resumed, while most of the stream is still ahead
            for _ in range(rng.randint(1, 6)):
                reached = ingester.wait_for_commit(timeout=30)
            time.sleep(rng.uniform(0, 0.02))
        finally:
            ingester.process.send_signal(signal.SIGKILL)
            ingester.process.wait()
        assert reached < messages, "the stream ended before the kill; make it longer"

    ingester = IngesterProcess(kafka, db)
    try:
        ingester.wait_for_commit(timeout=30, at_least_offset=messages)
    finally:
        ingester.process.send_signal(signal.SIGTERM)
        assert ingester.process.wait(timeout=15) == 0  # a clean stop

    with open_read_only(db) as conn:
        assert total_events(conn) == EVENTS
        assert conn.execute("SELECT count(DISTINCT event_id) FROM event_ids").fetchall() == [(EVENTS,)]
        assert event_counts(conn) == type_counts(events)
        union = " UNION ALL ".join(
            f"SELECT event_id FROM {table}"
            for table in TABLE_BY_TYPE.values()  # every type's table
        )
        assert conn.execute(f"SELECT count(*), count(DISTINCT event_id) FROM ({union})").fetchall() == [
            (EVENTS, EVENTS)
        ]
        assert conn.execute("SELECT next_offset FROM kafka_offsets").fetchall() == [(messages,)]
    print(
        f"\nRELIABILITY ingester SIGKILL x{KILLS} mid-stream: {EVENTS} events in {messages} messages, "
        f"{EVENTS} in the warehouse, 0 doubled"
    )
