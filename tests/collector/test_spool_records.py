"""Spool records — and so Kafka messages — stay under a size the broker takes, however large
the events: a record over the broker's message limit could never be delivered."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from starlette.testclient import TestClient

from autoscope.collector import contract
from autoscope.collector.app import CollectorSettings, create_app
from autoscope.collector.contract import convert_event, decode_events
from autoscope.collector.intake import Limits, spool_records
from autoscope.core.kafka_settings import KafkaSettings
from tests.event_samples import event


def big_impression() -> dict:
    """About 2.2 KB encoded: sixteen tags of 128 characters."""
    tags = [f"{n:02d}" + "t" * 126 for n in range(16)]
    return event("impression", event_id=str(uuid.uuid4()), tags=tags)


def test_records_are_split_by_bytes_as_well_as_by_count() -> None:
    events = [convert_event(big_impression()) for _ in range(500)]
    assert len(contract.encode_events(events)) > 1_000_000  # one record by count alone
    records = spool_records(events, 500, 900_000)
    assert len(records) >= 2 and all(len(r) <= 900_000 for r in records)
    assert [e.event_id for r in records for e in decode_events(r)] == [e.event_id for e in events]


def test_small_events_still_fill_a_record_by_count() -> None:
    events = [convert_event(event("contribution", event_id=str(uuid.uuid4()))) for _ in range(1200)]
    assert [len(decode_events(r)) for r in spool_records(events, 500, 900_000)] == [500, 500, 200]


def test_an_event_over_the_limit_is_a_record_of_its_own() -> None:
    events = [convert_event(big_impression()) for _ in range(3)]
    records = spool_records(events, 500, 1000)
    assert [len(decode_events(r)) for r in records] == [1, 1, 1]


@pytest.mark.integration
def test_kafka_messages_stay_under_the_record_limit(kafka: KafkaSettings, tmp_path: Path) -> None:
    app = create_app(CollectorSettings(tmp_path, kafka, Limits(max_record_bytes=20_000)))
    batch = [big_impression() for _ in range(50)]
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
