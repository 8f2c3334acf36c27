"""Several ingesters over one lake: what DuckLake's conflict detection does (verified here, not
assumed), and the two guarantees built on it: a partition has one writer, and an event is
stored once even when its copies reach two partitions read by two ingesters at once."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from kafka import KafkaProducer

from autoscope.broker import EmbeddedBroker
from autoscope.collector import contract
from autoscope.core.kafka_settings import KafkaSettings, ensure_topic
from autoscope.warehouse.ingester import Ingester, lake_conflict
from autoscope.warehouse.lake import LakeLocation, connect_lake
from autoscope.warehouse.partition_share import PartitionShare
from autoscope.warehouse.schema import migrate
from autoscope.warehouse.writer import PartitionTaken
from tests.warehouse.streams import make_events

pytestmark = pytest.mark.integration


@pytest.fixture
def topic4(broker: EmbeddedBroker) -> KafkaSettings:
    unique = uuid.uuid4().hex[:12]
    settings = broker.settings(topic=f"autoscope.test.{unique}", consumer_group=f"g-{unique}", partitions=4)
    ensure_topic(settings)
    return settings


def produce_to(settings: KafkaSettings, events: list[contract.Event], partition: int, per_message: int = 25) -> None:
    producer = KafkaProducer(**settings.client_kwargs(), acks="all", linger_ms=5)
    try:
        for start in range(0, len(events), per_message):
            producer.send(
                settings.topic, contract.encode_events(events[start : start + per_message]), partition=partition
            )
        producer.flush()
    finally:
        producer.close()


def counts(location: LakeLocation) -> tuple[int, int]:
    conn = connect_lake(location)
    try:
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM event_ids").fetchall()[0]
        return int(rows), int(distinct)
    finally:
        conn.close()


@contextmanager
def running(ingester: Ingester) -> Iterator[dict[str, BaseException]]:
    """Run ``ingester`` in a thread; yields where its failure (if any) is put."""
    stop = threading.Event()
    failure: dict[str, BaseException] = {}

    def work() -> None:
        try:
            ingester.run(stop)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            failure["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    try:
        yield failure
    finally:
        stop.set()
        thread.join(30)
        ingester.close()


def wait_for(condition, timeout_s: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_ducklake_serializes_offset_rewrites_but_not_inserts(lake_location: LakeLocation) -> None:
    """The facts the design rests on: two transactions that each rewrite their own partition's
    row of kafka_offsets conflict (the check is per table) -- but only when a row was there to
    delete, hence the row an ingester stores for a partition before its first batch -- and two
    that only insert the same event id both commit (no key refuses the second)."""
    a, b = connect_lake(lake_location), connect_lake(lake_location)
    migrate(a)

    def rewrite_positions() -> None:
        for conn, partition in ((a, 0), (b, 1)):
            conn.execute("BEGIN TRANSACTION")
            conn.execute("DELETE FROM kafka_offsets WHERE kafka_partition = ?", [partition])
            conn.execute("INSERT INTO kafka_offsets VALUES ('g', 't', ?, 10, NULL, now()::TIMESTAMP)", [partition])
        a.execute("COMMIT")

    try:
        rewrite_positions()  # no rows yet: nothing deleted, no conflict
        b.execute("COMMIT")
        rewrite_positions()  # each deletes its row: the second to commit is refused
        with pytest.raises(Exception) as refused:
            b.execute("COMMIT")
        assert lake_conflict(refused.value), refused.value

        for conn, partition in ((a, 0), (b, 1)):
            conn.execute("BEGIN TRANSACTION")
            conn.execute("INSERT INTO event_ids VALUES ('same-id', 'task', now()::TIMESTAMP, 't', ?, 0)", [partition])
        a.execute("COMMIT")
        b.execute("COMMIT")
        assert a.execute("SELECT count(*) FROM event_ids WHERE event_id = 'same-id'").fetchall()[0][0] == 2
    finally:
        a.close()
        b.close()


def test_two_ingesters_given_the_same_share_one_stops(topic4: KafkaSettings, lake_location: LakeLocation) -> None:
    events = make_events(400)
    for partition in range(4):
        produce_to(topic4, events[partition * 100 : (partition + 1) * 100], partition)
    one = Ingester(topic4, lake_location, share=PartitionShare(0, 1))
    two = Ingester(topic4, lake_location, share=PartitionShare(0, 1))
    with running(one) as first, running(two) as second:
        assert wait_for(lambda: "error" in first or "error" in second), "one of the two is fenced off"
        failures = [f["error"] for f in (first, second) if "error" in f]
        assert all(isinstance(f, PartitionTaken) for f in failures), failures
        assert wait_for(lambda: counts(lake_location)[0] >= 400)
    assert counts(lake_location) == (400, 400), "every event once, whichever wrote it"


def test_copies_in_two_partitions_read_by_two_ingesters_are_stored_once(
    topic4: KafkaSettings, lake_location: LakeLocation
) -> None:
    """Events sent twice to partitions of different ingesters (what an unkeyed producer can
    do), and read at the same moment: stored once, as the commits are serialized."""
    events = make_events(1600)
    for partition in range(4):  # partition p and p+1 hold the same events: ingester 0 and 1 both see them
        produce_to(topic4, events[(partition // 2) * 800 : (partition // 2 + 1) * 800], partition)
    one = Ingester(topic4, lake_location, share=PartitionShare(0, 2), gather_records=20)
    two = Ingester(topic4, lake_location, share=PartitionShare(1, 2), gather_records=20)
    with running(one) as first, running(two) as second:
        assert wait_for(lambda: counts(lake_location)[0] >= 1600 and one.stats.batches and two.stats.batches)
        time.sleep(1.0)  # whatever is still in flight
        assert "error" not in first and "error" not in second, (first, second)
        stats = (one.stats, two.stats)
    assert counts(lake_location) == (1600, 1600)
    assert sum(s.ingested for s in stats) == 1600 and sum(s.duplicates for s in stats) == 1600, stats
    print(f"\nLAKE two ingesters, copies across them: {stats}")
