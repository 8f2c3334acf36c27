"""The multi-process topology a lab copies (docs/deployment.md), on this machine: PostgreSQL (the
lake's catalog), one broker with a 4-partition topic, 2 collector processes, 2 ingester processes
over one lake. Clients are split over the collectors as a round-robin load balancer would (each
load thread keeps to one collector; no proxy). Mid-way one collector and one ingester are
SIGKILLed and restarted. Every event a collector answered 2xx for is stored exactly once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from autoscope.broker import EmbeddedBroker, free_port
from autoscope.core.kafka_settings import ensure_topic
from autoscope.warehouse.lake import LakeLocation, connect_lake
from tests.faults.load import Load
from tests.faults.processes import CollectorProcess, LakeIngesterProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def stored(lake: LakeLocation, wanted: set[str]) -> tuple[int, int, int]:
    """(wanted ids found, rows in event_ids, distinct ids)."""
    conn = connect_lake(lake)
    try:
        conn.register("wanted", pa.table({"event_id": sorted(wanted)}))
        found = conn.execute("SELECT count(*) FROM event_ids JOIN wanted USING (event_id)").fetchall()[0][0]
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM event_ids").fetchall()[0]
        return int(found), int(rows), int(distinct)
    finally:
        conn.close()


def test_two_collectors_two_ingesters_one_lake_survive_sigkill(
    broker: EmbeddedBroker, lake_location: LakeLocation, tmp_path: Path
) -> None:
    unique = uuid.uuid4().hex[:12]
    kafka = broker.settings(topic=f"autoscope.test.{unique}", consumer_group=f"g-{unique}", partitions=4)
    ensure_topic(kafka)
    collectors = [
        CollectorProcess(kafka, tmp_path / f"collector-{i}", free_port(), tmp_path / f"collector-{i}.log").start()
        for i in range(2)
    ]
    ingesters = [
        LakeIngesterProcess(kafka, lake_location, f"{i}/2", tmp_path / f"ingester-{i}.log", max_records=200).start()
        for i in range(2)
    ]
    loads = [Load(collector.port, threads=1, batch_size=50).start() for collector in collectors]
    try:
        time.sleep(2.0)
        collectors[0].kill()
        ingesters[1].wait_for_commits(1)
        ingesters[1].kill()
        time.sleep(0.3)
        collectors[0].start()  # its spool is forwarded again
        ingesters[1].start()  # resumes at its partitions' stored positions
        time.sleep(2.0)
    finally:
        for load in loads:
            load.stop()
    acknowledged = loads[0].acknowledged | loads[1].acknowledged
    unanswered = loads[0].unanswered | loads[1].unanswered
    try:
        for collector in collectors:
            collector.wait_drained()
        deadline = time.monotonic() + 240  # two lake ingesters commit in turn: ~5,000 events/s here
        while stored(lake_location, acknowledged)[0] < len(acknowledged) and time.monotonic() < deadline:
            for ingester in ingesters:
                assert ingester.process is not None and ingester.process.poll() is None, ingester.log.read_text()
            time.sleep(2.0)
    finally:
        codes = [process.stop() for process in (*collectors, *ingesters)]
    assert codes == [0, 0, 0, 0], "clean stops"
    assert len(acknowledged) > 500, [load.statuses for load in loads]
    found, rows, distinct = stored(lake_location, acknowledged)
    assert found == len(acknowledged), "every event answered 2xx is in the lake"
    assert rows == distinct, "and none twice"
    assert rows <= len(acknowledged | unanswered), "nothing that was not sent"
    print(
        f"\nRELIABILITY topology (PostgreSQL catalog, broker, 2 collectors, 2 lake ingesters; one of each "
        f"SIGKILLed): {len(acknowledged)} events answered 2xx, {found} in the lake, {rows - distinct} doubled"
    )
