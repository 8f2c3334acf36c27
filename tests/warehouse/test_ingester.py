"""The ingester against the real embedded broker and real DuckDB files: exactly once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from autoscope.broker import EmbeddedBroker
from autoscope.collector import contract
from autoscope.core.kafka_settings import KafkaSettings, ensure_topic
from autoscope.warehouse.ingester import Ingester
from autoscope.warehouse.log_identity import fingerprint
from autoscope.warehouse.reader import event_counts, open_read_only, total_events
from tests.warehouse.streams import FAST_GROUP, make_events, produce, type_counts

pytestmark = pytest.mark.integration


def stored_rows(db: Path, sql: str) -> list[tuple]:
    with open_read_only(db) as conn:
        return conn.execute(sql).fetchall()


def record_at(settings: KafkaSettings, offset: int):
    consumer = KafkaConsumer(**settings.client_kwargs(), group_id=None, auto_offset_reset="earliest")
    try:
        tp = TopicPartition(settings.topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        return consumer.poll(timeout_ms=5000)[tp][0]
    finally:
        consumer.close()


def test_batch_is_stored_with_its_offsets_and_duplicates_are_absorbed(kafka: KafkaSettings, tmp_path: Path) -> None:
    events = make_events(400)
    sent = produce(kafka, events, per_message=40)  # 10 messages
    # a message repeating one event within itself, and a replay of an earlier message
    produce(kafka, [events[0], events[0], events[1]], per_message=3)
    produce(kafka, events[:40], per_message=40)
    db = tmp_path / "w.duckdb"

    with Ingester(kafka, db) as ingester:
        assert ingester.run_until(lambda i: i.stats.duplicates >= 43, timeout=20)
        stats = ingester.stats
        with ingester.cursor() as cursor:  # a reader in the same process while it runs
            assert total_events(cursor) == 400
    assert (stats.ingested, stats.duplicates, stats.rejected) == (400, 43, 0)

    with open_read_only(db) as conn:
        assert event_counts(conn) == type_counts(events)
        assert total_events(conn) == 400
        assert (
            conn.execute("SELECT count(DISTINCT event_id) FROM tasks").fetchall()[0][0] == type_counts(events)["task"]
        )
    [(next_offset, stored_fp)] = stored_rows(
        db,
        "SELECT next_offset, last_fingerprint FROM kafka_offsets"
        f" WHERE consumer_group = '{kafka.consumer_group}' AND topic = '{kafka.topic}'",
    )
    assert next_offset == sent + 2
    assert stored_fp == fingerprint(record_at(kafka, next_offset - 1))
    # every stored event comes from before the stored position, with its own offset
    assert stored_rows(db, "SELECT min(kafka_offset), max(kafka_offset) FROM event_ids") == [(0, sent - 1)]


def test_envelope_and_fields_land_in_the_type_tables(kafka: KafkaSettings, tmp_path: Path) -> None:
    events = make_events(8)
    produce(kafka, events, per_message=8)
    db = tmp_path / "w.duckdb"
    with Ingester(kafka, db) as ingester:
        assert ingester.run_until(8, timeout=20)
    task, deployment, impression = (
        stored_rows(db, f"SELECT * FROM {table}")[0] for table in ("tasks", "model_deployments", "impressions")
    )
    # occurred_at 2026-11-02T10:00:00+01:00 is stored as naive UTC
    assert task[:6] == (events[0].event_id, dt.datetime(2026, 11, 2, 9, 0), "p0", "pretraining", "notebook", "1.2")
    assert task[6:] == (
        "t1",
        "analysis",
        "ai",
        "supervised",
        "analysis",
        "engineer",
        "engineering",
        30.0,
        12.5,
        "success",
        None,
        None,
    )  # model, size_source: not sent
    assert str(deployment[7]) == "2026-10-01 00:00:00" and deployment[8] is None
    assert impression[6:] == ("q_speedup", 4, ["coding"])


def test_a_message_that_is_not_valid_events_is_recorded_and_passed(kafka: KafkaSettings, tmp_path: Path) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(**kafka.client_kwargs())
    producer.send(kafka.topic, b'[{"type": "task"}]')
    producer.flush()
    producer.close()
    events = make_events(10)
    produce(kafka, events, per_message=5)
    db = tmp_path / "w.duckdb"
    with Ingester(kafka, db) as ingester:
        assert ingester.run_until(10, timeout=20)
        assert ingester.stats.rejected == 1
    [(offset, reason)] = stored_rows(db, "SELECT kafka_offset, reason FROM ingest_rejects")
    assert offset == 0 and "event_id" in reason
    assert stored_rows(db, "SELECT next_offset FROM kafka_offsets") == [(3,)]


def test_restart_resumes_at_the_stored_offset(kafka: KafkaSettings, tmp_path: Path) -> None:
    first, second = make_events(300, stream=1), make_events(200, stream=2)
    produce(kafka, first, per_message=30)
    db = tmp_path / "w.duckdb"
    with Ingester(kafka, db) as ingester:
        assert ingester.run_until(300, timeout=20)
    produce(kafka, second, per_message=20)

    with Ingester(kafka, db) as ingester:
        assert ingester.run_until(200, timeout=20)
        stats = ingester.stats
    assert (stats.ingested, stats.duplicates, stats.log_resets) == (200, 0, 0)  # nothing re-read
    with open_read_only(db) as conn:
        assert total_events(conn) == 500  # nothing skipped
        assert conn.execute("SELECT next_offset FROM kafka_offsets").fetchall() == [(20,)]


@pytest.mark.parametrize("new_messages", [3, 25], ids=["shorter-log", "longer-log"])
def test_a_replaced_log_behind_the_stored_offset_is_read_from_the_start(tmp_path: Path, new_messages: int) -> None:
    """The embedded broker restarted empty: the stored offset (10) points past or into a new log."""
    db = tmp_path / "w.duckdb"
    with EmbeddedBroker() as old:
        settings = old.settings(topic="autoscope.events.v1", **FAST_GROUP)
        ensure_topic(settings)
        produce(settings, make_events(100, stream=1), per_message=10)
        with Ingester(settings, db) as ingester:
            assert ingester.run_until(100, timeout=20)

    fresh_events = make_events(new_messages * 2, stream=2)
    with EmbeddedBroker() as fresh:
        settings = fresh.settings(topic="autoscope.events.v1", **FAST_GROUP)
        ensure_topic(settings)
        produce(settings, fresh_events, per_message=2)
        with Ingester(settings, db) as ingester:
            assert ingester.run_until(len(fresh_events), timeout=20)
            stats = ingester.stats
    assert stats.log_resets == 1 and stats.duplicates == 0
    with open_read_only(db) as conn:
        assert total_events(conn) == 100 + len(fresh_events)
        assert conn.execute("SELECT next_offset FROM kafka_offsets").fetchall() == [(new_messages,)]


def test_a_topic_recreated_while_running_is_noticed_when_idle(kafka: KafkaSettings, tmp_path: Path) -> None:
    produce(kafka, make_events(100, stream=1), per_message=10)
    db = tmp_path / "w.duckdb"
    with Ingester(kafka, db, idle_check_s=1.0) as ingester:
        assert ingester.run_until(100, timeout=20)
        admin = KafkaAdminClient(**kafka.client_kwargs())
        try:
            admin.delete_topics([kafka.topic])
        finally:
            admin.close()
        ensure_topic(kafka)
        fresh = make_events(6, stream=2)
        produce(kafka, fresh, per_message=2)  # 3 messages: the stored offset 10 is past the end
        assert ingester.run_until(106, timeout=20)
        assert ingester.stats.log_resets >= 1
    with open_read_only(db) as conn:
        assert total_events(conn) == 106


def test_a_broker_restarted_empty_under_a_running_ingester_is_noticed(tmp_path: Path) -> None:
    """Same port, fresh broker, a new log already longer than the stored offset: no skipping."""
    db = tmp_path / "w.duckdb"
    old = EmbeddedBroker().start()
    settings = old.settings(topic="autoscope.events.v1", **FAST_GROUP)
    ensure_topic(settings)
    produce(settings, make_events(100, stream=1), per_message=10)
    stop = threading.Event()
    fresh = EmbeddedBroker(port=old.port)
    try:
        with Ingester(settings, db) as ingester:
            runner = threading.Thread(target=ingester.run, args=(stop,))
            runner.start()
            try:
                assert _wait(lambda: ingester.stats.ingested == 100, 20)
                # Tansu ignores SIGTERM while clients are connected: don't wait for it
                old.stop(timeout_s=0.1)
                fresh.start()
                ensure_topic(settings)
                produce(settings, make_events(50, stream=2), per_message=2)  # 25 messages > 10
                assert _wait(lambda: ingester.stats.ingested == 150, 30)
                assert ingester.stats.log_resets == 1
            finally:
                stop.set()
                runner.join(10)
    finally:
        fresh.stop()
        old.stop()
    with open_read_only(db) as conn:
        assert total_events(conn) == 150
        assert conn.execute("SELECT next_offset FROM kafka_offsets").fetchall() == [(25,)]


def test_every_partition_of_a_topic_recreated_with_more_partitions_is_read(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    """The topic came back with more partitions than the group member joined with, and each
    new partition holds records: all of them are read, within seconds.

    The broker outage test lost events this way: the embedded broker restarted empty and the
    failed producer the forwarder had just retired re-sent its pending records the moment the
    broker was back, so the broker created the topic itself, with its default of 4
    partitions, not the configured 1; the ingester's consumer kept the single partition it
    had joined with, and the records the new producer spread over partitions 1-3 were never
    read (kafka-python refreshes a member's topic metadata every 5 minutes by default).

    Deterministic: the ingester is not polling while the topic is replaced (so no fetch error
    prompts an early metadata refresh), and records are placed in every partition explicitly.
    """
    produce(kafka, make_events(100, stream=1), per_message=10)
    db = tmp_path / "w.duckdb"
    with Ingester(kafka, db) as ingester:
        assert ingester.run_until(100, timeout=20)
        assert ingester._consumer.assignment() == {TopicPartition(kafka.topic, 0)}
        admin = KafkaAdminClient(**kafka.client_kwargs())
        try:
            admin.delete_topics([kafka.topic])
        finally:
            admin.close()
        wider = dataclasses.replace(kafka, partitions=4)
        ensure_topic(wider)
        fresh = make_events(4 * 10, stream=2)
        producer = KafkaProducer(**kafka.client_kwargs(), acks="all", enable_idempotence=False)
        try:
            for i in range(0, len(fresh), 2):  # 5 messages of 2 events in each partition
                producer.send(kafka.topic, contract.encode_events(fresh[i : i + 2]), partition=i // 10)
            producer.flush(10)
        finally:
            producer.close()
        read_all = ingester.run_until(100 + len(fresh), timeout=30)

        assert read_all, (
            f"{100 + len(fresh) - ingester.stats.ingested} events not read; "
            f"assigned {sorted(tp.partition for tp in ingester._consumer.assignment())}"
        )
        assert ingester.stats.log_resets >= 1
    with open_read_only(db) as conn:
        assert total_events(conn) == 140
        assert conn.execute("SELECT count(DISTINCT kafka_partition) FROM kafka_offsets").fetchall() == [(4,)]


def test_run_stops_when_asked_from_another_thread(kafka: KafkaSettings, tmp_path: Path) -> None:
    produce(kafka, make_events(50), per_message=5)
    stop = threading.Event()
    with Ingester(kafka, tmp_path / "w.duckdb") as ingester:
        runner = threading.Thread(target=ingester.run, args=(stop,))
        runner.start()
        try:
            assert _wait(lambda: ingester.stats.ingested == 50, 20)
            assert ingester.stats.batches >= 1 and ingester.stats.last_batch_at is not None
        finally:
            stop.set()
            runner.join(10)
        assert not runner.is_alive()


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
