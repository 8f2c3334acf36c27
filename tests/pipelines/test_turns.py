"""Taking turns on the warehouse file: `autoscope indicators` runs while a real ingester process
ingests from the real broker, and ingestion carries on afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from autoscope.core.kafka_settings import KafkaSettings
from autoscope.warehouse.turns import Holder, TurnTimeout, turn
from tests.warehouse.streams import make_events, produce
from tests.warehouse.test_crash import IngesterProcess


def test_a_waiter_gets_the_file_between_batches_and_the_holder_gets_it_back(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = Holder(db)
    holder.acquire()
    assert not holder.someone_waiting()
    entered = threading.Event()

    def job() -> None:
        with turn(db, timeout_s=10):
            entered.set()
            time.sleep(0.2)

    waiter = threading.Thread(target=job)
    waiter.start()
    deadline = time.monotonic() + 5
    while not holder.someone_waiting():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not entered.is_set(), "nobody enters while the holder holds the file"
    holder.hand_over()  # returns once the waiter is done
    assert entered.is_set()
    waiter.join(5)
    assert not holder.someone_waiting() and holder.hand_overs == 1
    with pytest.raises(TurnTimeout):
        with turn(db, timeout_s=0.2):
            pass
    holder.release()
    with turn(db, timeout_s=1):
        pass


@pytest.mark.integration
def test_indicators_run_while_the_ingester_runs(kafka: KafkaSettings, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = data_dir / "warehouse.duckdb"
    first = make_events(400)
    produce(kafka, first, 5)
    ingester = IngesterProcess(kafka, db)
    try:
        ingester.wait_for_commit(timeout=60, at_least_offset=80)
        started = time.monotonic()
        job = subprocess.run(
            [
                sys.executable,
                "-m",
                "autoscope.cli",
                "indicators",
                "--data-dir",
                str(data_dir),
                "--period",
                "week",
                "--wait",
                "60",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert job.returncode == 0, job.stdout + job.stderr
        assert "run: recomputed" in job.stdout
        assert ingester.process.poll() is None, "the ingester kept running through the job's turn"
        assert time.monotonic() - started < 60
        # ingestion continues afterwards: new events are committed by the same process
        produce(kafka, make_events(400, stream=1), 5)
        ingester.wait_for_commit(timeout=60, at_least_offset=160)
        assert any("handing" in line for line in ingester.log), "the ingester handed the file over"
    finally:
        ingester.process.send_signal(signal.SIGTERM)
        ingester.process.wait(30)
    conn = duckdb.connect(str(db), read_only=True)
    try:
        assert conn.execute("SELECT count(*) FROM event_ids").fetchone()[0] == 800
        assert conn.execute("SELECT count(*) FROM indicator_values").fetchone()[0] > 0
    finally:
        conn.close()
