"""Two ingester processes over one lake, SIGKILLed in turn mid-stream and restarted: every event
stored once, every partition's position at its end (the SIGKILL test of tests/warehouse/test_crash.py,
with two writers)."""

from __future__ import annotations

import os
import random
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from autoscope.broker import EmbeddedBroker
from autoscope.core.kafka_settings import KafkaSettings, ensure_topic
from autoscope.warehouse.lake import LakeLocation, connect_lake
from tests.faults.processes import LakeIngesterProcess
from tests.warehouse.streams import make_events, produce

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = 2000
PER_MESSAGE = 10
KILLS = 4
PARTITIONS = 4


def end_offsets(kafka: KafkaSettings) -> dict[int, int]:
    consumer = KafkaConsumer(**kafka.client_kwargs(), group_id=None)
    try:
        tps = [TopicPartition(kafka.topic, p) for p in range(PARTITIONS)]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def stored(lake: LakeLocation, kafka: KafkaSettings) -> tuple[int, int, dict[int, int]]:
    """(rows in event_ids, distinct ids, {partition: stored next offset})."""
    conn = connect_lake(lake)
    try:
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM event_ids").fetchall()[0]
        positions = conn.execute(
            "SELECT kafka_partition, max(next_offset) FROM kafka_offsets WHERE consumer_group = ? GROUP BY ALL",
            [kafka.consumer_group],
        ).fetchall()
        return int(rows), int(distinct), {int(p): int(o) for p, o in positions}
    finally:
        conn.close()


def test_sigkill_one_of_two_ingesters_again_and_again(
    broker: EmbeddedBroker, lake_location: LakeLocation, tmp_path: Path
) -> None:
    rng = random.Random(int(os.environ.get("AUTOSCOPE_CRASH_SEED", "7")))
    unique = uuid.uuid4().hex[:12]
    kafka = broker.settings(topic=f"autoscope.test.{unique}", consumer_group=f"g-{unique}", partitions=PARTITIONS)
    ensure_topic(kafka)
    events = make_events(EVENTS)
    # unkeyed, so a copy may reach another partition and the other ingester: the harder case
    produce(kafka, events[:1000], PER_MESSAGE)
    produce(kafka, events[700:1000], PER_MESSAGE)  # the collector's replay after its own crash
    produce(kafka, events[1000:], PER_MESSAGE)
    ends = end_offsets(kafka)

    ingesters = [
        LakeIngesterProcess(kafka, lake_location, f"{i}/2", tmp_path / f"ingester-{i}.log", max_records=5).start()
        for i in range(2)
    ]
    try:
        for kill in range(KILLS):
            victim = ingesters[kill % 2]
            victim.wait_for_commits(rng.randint(1, 3))
            victim.kill()  # mid-stream: the other goes on writing meanwhile
            positions = stored(lake_location, kafka)[2]
            assert sum(positions.values()) < sum(ends.values()), "the stream ended before the kill; make it longer"
            victim.start()
        # both run to the end of their partitions (Tansu's end offsets are those of a producer
        # batch, not of the last record: the stored positions may pass them, never fall short)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            rows, distinct, positions = stored(lake_location, kafka)
            if distinct == EVENTS and all(positions.get(p, 0) >= end for p, end in ends.items()):
                break
            for ingester in ingesters:
                assert ingester.process is not None and ingester.process.poll() is None, ingester.log.read_text()
            time.sleep(2.0)
        time.sleep(3.0)  # a batch still in flight (a duplicate would show now)
    finally:
        codes = [ingester.stop() for ingester in ingesters]
    assert codes == [0, 0], "clean stops"
    rows, distinct, positions = stored(lake_location, kafka)
    assert all(positions[p] >= end for p, end in ends.items()), (positions, ends)
    assert (rows, distinct) == (EVENTS, EVENTS), "every event once"
    print(
        f"\nRELIABILITY two lake ingesters, one SIGKILLed x{KILLS} mid-stream: {EVENTS} events "
        f"({sum(ends.values())} messages over {PARTITIONS} partitions), {rows} stored, {rows - distinct} doubled"
    )
