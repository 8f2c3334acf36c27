"""SIGKILL the collector under load, restart it: every 2xx'd event lands in the warehouse once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from autoscope.broker import free_port
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.warehouse.ingester import Ingester
from tests.faults.load import Load
from tests.faults.processes import CollectorProcess

pytestmark = pytest.mark.integration


def stored(ingester: Ingester, event_ids: set[str]) -> tuple[int, int, int]:
    """(acknowledged ids found, rows in event_ids, distinct ids) in the warehouse."""
    cursor = ingester.cursor()
    try:
        cursor.register("wanted", pa.table({"event_id": sorted(event_ids)}))
        found = cursor.execute("SELECT count(*) FROM event_ids JOIN wanted USING (event_id)").fetchall()[0][0]
        rows, distinct = cursor.execute("SELECT count(*), count(DISTINCT event_id) FROM event_ids").fetchall()[0]
        return int(found), int(rows), int(distinct)
    finally:
        cursor.close()


def test_sigkill_under_load_loses_and_doubles_nothing(kafka: KafkaSettings, tmp_path: Path) -> None:
    port = free_port()
    collector = CollectorProcess(kafka, tmp_path / "collector", port, tmp_path / "collector.log").start()
    load = Load(port, threads=4, batch_size=50).start()
    try:
        for _ in range(2):  # two crashes in one run
            time.sleep(1.5)
            collector.kill()
            time.sleep(0.3)
            collector.start()  # the spool left behind is replayed
        time.sleep(1.0)
    finally:
        load.stop()
    collector.wait_drained()
    assert collector.stop() == 0
    assert len(load.acknowledged) > 500, load.statuses

    stop = threading.Event()
    with Ingester(kafka, tmp_path / "warehouse.duckdb") as ingester:
        thread = threading.Thread(target=ingester.run, args=(stop,))
        thread.start()
        try:
            deadline = time.monotonic() + 60
            while stored(ingester, load.acknowledged)[0] < len(load.acknowledged) and time.monotonic() < deadline:
                time.sleep(0.3)
        finally:
            stop.set()
            thread.join()
        found, rows, distinct = stored(ingester, load.acknowledged)
    assert found == len(load.acknowledged), "every event answered 2xx is in the warehouse"
    assert rows == distinct, "and none twice"
    # unanswered requests may or may not have been accepted; nothing else may appear
    assert rows <= len(load.acknowledged | load.unanswered)
    print(
        f"\nRELIABILITY collector SIGKILL x2 under load: {len(load.acknowledged)} events answered 2xx, "
        f"{found} in the warehouse, {rows - distinct} doubled; statuses {load.statuses}"
    )
