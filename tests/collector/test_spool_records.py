"""Spool records — and so Kafka messages — stay under a size the broker takes, however large
the events: a record over the broker's message limit could never be delivered."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from starlette.testclient import TestClient

from autoscope.broker import EmbeddedBroker
from autoscope.collector import contract
from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.contract import convert_event, decode_events
from autoscope.collector.intake import Limits, spool_records
from autoscope.core.event_keys import bucket_of, record_bucket
from autoscope.core.kafka_settings import KafkaSettings, ensure_topic
from tests.event_samples import event

#: key buckets (the topic's partitions) in the tests of spool records that spread events
BUCKETS = 12


def id_in_bucket(bucket: int = 0) -> str:
    """A fresh event id of key bucket ``bucket`` of :data:`BUCKETS`, so that a test of record sizes
    sees one bucket."""
    while True:
        candidate = str(uuid.uuid4())
        if bucket_of(candidate, BUCKETS) == bucket:
            return candidate


def big_impression(bucket: int | None = 0) -> dict:
    """About 2.2 KB encoded: sixteen tags of 128 characters; of one key bucket unless None."""
    tags = [f"{n:02d}" + "t" * 126 for n in range(16)]
    event_id = str(uuid.uuid4()) if bucket is None else id_in_bucket(bucket)
    return event("impression", event_id=event_id, tags=tags)


def test_records_are_split_by_bytes_as_well_as_by_count() -> None:
    events = [convert_event(big_impression()) for _ in range(500)]
    assert len(contract.encode_events(events)) > 1_000_000  # one record by count alone
    records = spool_records(events, 500, 900_000)
    assert len(records) >= 2 and all(len(r) <= 900_000 for r in records)
    assert [e.event_id for r in records for e in decode_events(r)] == [e.event_id for e in events]


def test_small_events_still_fill_a_record_by_count() -> None:
    events = [convert_event(event("contribution", event_id=id_in_bucket(3))) for _ in range(1200)]
    assert [len(decode_events(r)) for r in spool_records(events, 500, 900_000)] == [500, 500, 200]


def test_an_event_over_the_limit_is_a_record_of_its_own() -> None:
    events = [convert_event(big_impression()) for _ in range(3)]
    records = spool_records(events, 500, 1000)
    assert [len(decode_events(r)) for r in records] == [1, 1, 1]


def test_a_record_holds_one_key_bucket_and_names_it() -> None:
    events = [convert_event(event("contribution", event_id=str(uuid.uuid4()))) for _ in range(600)]
    records = spool_records(events, 500, 900_000, BUCKETS)
    assert len(records) == BUCKETS, "600 random ids fill every bucket, each bucket one record"
    for record in records:
        buckets = {bucket_of(e.event_id, BUCKETS) for e in decode_events(record)}
        assert buckets == {record_bucket(record, BUCKETS)}
    assert sorted(e.event_id for r in records for e in decode_events(r)) == sorted(e.event_id for e in events)


def test_a_small_request_is_a_record_per_bucket_it_touches() -> None:
    ids = [id_in_bucket(1), id_in_bucket(1), id_in_bucket(5)]
    records = spool_records([convert_event(event("task", event_id=i)) for i in ids], 500, 900_000, BUCKETS)
    assert sorted(len(decode_events(r)) for r in records) == [1, 2]


def test_on_one_partition_a_request_is_not_split_by_key() -> None:
    """Keying only matters with several partitions: on one (the embedded default) 1,200 random ids
    are three records of 500, 500 and 200, not one small record (and Kafka message) per bucket."""
    events = [convert_event(event("task", event_id=str(uuid.uuid4()))) for _ in range(1200)]
    assert [len(decode_events(r)) for r in spool_records(events, 500, 900_000, 1)] == [500, 500, 200]


def test_record_bucket_of_something_else_is_none() -> None:
    assert record_bucket(b'[{"type": "task"}]', BUCKETS) is None
    assert record_bucket(b"x", BUCKETS) is None


@pytest.mark.integration
def test_every_copy_of_an_event_reaches_the_same_partition(broker: EmbeddedBroker, tmp_path: Path) -> None:
    """A batch sent twice (a client retry), through two collectors: each event's copies share a
    partition, so one ingester sees them all; the batch is spread over the partitions."""
    unique = uuid.uuid4().hex[:12]
    kafka = broker.settings(topic=f"autoscope.test.{unique}", consumer_group=f"g-{unique}", partitions=4)
    ensure_topic(kafka)
    batch = [event("task", event_id=str(uuid.uuid4())) for _ in range(200)]
    for collector in ("one", "two"):
        with TestClient(create_app(CollectorSettings(tmp_path / collector, kafka))) as client:
            response = client.post(
                "/v1/events", content=json.dumps(batch), headers={"content-type": "application/json"}
            )
            assert response.status_code == 200, response.text
    consumer = KafkaConsumer(
        kafka.topic, auto_offset_reset="earliest", consumer_timeout_ms=3000, **kafka.client_kwargs()
    )
    partitions: dict[str, list[int]] = {}
    for message in consumer:
        assert message.key == str(record_bucket(message.value, 4)).encode() == str(message.partition).encode()
        for e in decode_events(message.value):
            partitions.setdefault(e.event_id, []).append(message.partition)
    consumer.close()
    assert sorted(partitions) == sorted(e["event_id"] for e in batch)
    assert all(len(seen) == 2 and len(set(seen)) == 1 for seen in partitions.values()), "copies share a partition"
    assert {p for seen in partitions.values() for p in seen} == {0, 1, 2, 3}


@pytest.mark.integration
def test_kafka_messages_stay_under_the_record_limit(kafka: KafkaSettings, tmp_path: Path) -> None:
    app = create_app(CollectorSettings(tmp_path, kafka, Limits(max_record_bytes=20_000)))
    batch = [big_impression(bucket=None) for _ in range(50)]
    with TestClient(app) as client:
        response = client.post("/v1/events", content=json.dumps(batch), headers={"content-type": "application/json"})
        assert response.status_code == 200, response.text
    consumer = KafkaConsumer(
        kafka.topic, auto_offset_reset="earliest", consumer_timeout_ms=3000, **kafka.client_kwargs()
    )
    sizes, ids = [], []
    for message in consumer:
        sizes.append(len(message.value))
        ids.extend(e.event_id for e in decode_events(message.value))
    consumer.close()
    assert sorted(ids) == sorted(e["event_id"] for e in batch)
    assert len(sizes) >= 5 and max(sizes) <= 20_000
