"""The durable spool and its forwarder: torn tails, the cap, replay, deletion after acks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from autoscope.broker import EmbeddedBroker
from autoscope.collector.sinks.forwarder import Forwarder
from autoscope.collector.sinks.spool import Spool, SpoolFull, read_records
from autoscope.core.kafka_settings import KafkaSettings, ensure_topic


def records_in(spool: Spool) -> list[bytes]:
    return [p for seq in spool.segments() for _, p in read_records(spool.path_of(seq))]


def test_appends_survive_reopen_and_torn_tail_is_cut(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([b"one", b"two"])
    spool.append([b"three"])
    spool.close()
    segment = sorted(tmp_path.iterdir())[0]
    with open(segment, "ab") as handle:  # a crash mid-write: a header promising more bytes
        handle.write(b"\x00\x00\x00\x10\x00\x00")
    reopened = Spool(tmp_path)
    assert records_in(reopened) == [b"one", b"two", b"three"]
    reopened.append([b"four"])  # goes to a new segment, after the intact records
    assert records_in(reopened) == [b"one", b"two", b"three", b"four"]


def test_damage_mid_segment_keeps_the_rest_aside(tmp_path: Path) -> None:
    """A bad record in the middle (a damaged disk, not a torn append) hides the acknowledged
    records after it: they are kept beside the segment, not thrown away."""
    spool = Spool(tmp_path)
    spool.append([b"one", b"two", b"three"])
    spool.close()
    segment = sorted(p for p in tmp_path.iterdir() if p.suffix == ".log")[0]
    data = bytearray(segment.read_bytes())
    data[8 + 3 + 8] ^= 0xFF  # the first byte of "two"
    segment.write_bytes(bytes(data))
    reopened = Spool(tmp_path)
    assert records_in(reopened) == [b"one"]
    aside = segment.with_name(segment.name + ".cut")
    assert aside.read_bytes() == bytes(data[8 + 3 :]) and reopened.cut_bytes == len(data) - 11
    assert b"three" in aside.read_bytes()


def test_cap_refuses_and_keeps_what_was_accepted(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=100)
    spool.append([b"x" * 60])
    with pytest.raises(SpoolFull, match="cap of 100 bytes"):
        spool.append([b"y" * 60])
    assert records_in(spool) == [b"x" * 60]


def test_segments_roll_over_at_their_size(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=50)
    for i in range(5):
        spool.append([b"%d" % i * 40])
    assert len(spool.segments()) == 3  # 48-byte records: two fill a 50-byte segment
    assert records_in(spool) == [b"%d" % i * 40 for i in range(5)]


def consume(settings: KafkaSettings, expected: int, timeout_ms: int = 5000) -> list[bytes]:
    consumer = KafkaConsumer(
        settings.topic,
        auto_offset_reset="earliest",
        consumer_timeout_ms=timeout_ms,
        **settings.client_kwargs(),
    )
    values = []
    for message in consumer:
        values.append(message.value)
        if len(values) >= expected:
            break
    consumer.close()
    return values


def wait_until(predicate, timeout_s: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.integration
def test_forwarder_delivers_then_deletes_segments(tmp_path: Path, kafka: KafkaSettings) -> None:
    spool = Spool(tmp_path, segment_bytes=200)
    forwarder = Forwarder(spool, kafka, seal_after_s=0.1).start()
    try:
        payloads = [b"record-%03d" % i for i in range(100)]
        for payload in payloads:
            spool.append([payload])
        assert wait_until(lambda: forwarder.forwarded_records >= 100)
        assert wait_until(lambda: spool.total_bytes == 0), "acknowledged segments are deleted"
    finally:
        forwarder.stop()
        spool.close()
    assert sorted(consume(kafka, 100)) == payloads


@pytest.mark.integration
def test_kafka_down_keeps_everything_then_delivers(tmp_path: Path) -> None:
    """Accepted records wait in the spool while Kafka is away and all arrive once it is back."""
    broker = EmbeddedBroker()
    settings = broker.settings(topic="spool-outage")
    spool = Spool(tmp_path)
    forwarder = Forwarder(spool, settings, seal_after_s=0.1, backoff_s=0.2).start()
    try:
        spool.append([b"while-down-1", b"while-down-2"])
        time.sleep(1.0)
        assert forwarder.forwarded_records == 0
        assert records_in(spool) == [b"while-down-1", b"while-down-2"]
        broker.start()
        ensure_topic(settings)
        spool.append([b"after-up"])
        assert wait_until(lambda: spool.total_bytes == 0, 30), forwarder.last_error
        assert sorted(set(consume(settings, 3))) == [b"after-up", b"while-down-1", b"while-down-2"]
    finally:
        forwarder.stop()
        spool.close()
        broker.stop()


@pytest.mark.integration
def test_a_failed_producer_with_records_pending_is_closed_once_they_expire(tmp_path: Path) -> None:
    """kafka-python's close() raises while records are pending, and then leaves the producer's
    network thread running (reconnecting for the life of the process); the forwarder keeps
    such a producer and closes it on a later try, once its records have expired."""
    from kafka import KafkaProducer

    broker = EmbeddedBroker().start()
    producer = KafkaProducer(
        **broker.settings().client_kwargs(), linger_ms=5, request_timeout_ms=1000, delivery_timeout_ms=2000
    )
    producer.send("t", b"x").get(10)
    broker.stop(timeout_s=0.1)
    producer.send("t", b"pending")  # never acknowledged: the broker is gone
    forwarder = Forwarder(Spool(tmp_path), broker.settings())
    forwarder._retiring.append(producer)
    forwarder._close_retiring()
    assert forwarder._retiring == [producer], "close() refused: a record is pending"
    assert producer._sender.is_alive(), "and the network thread still runs"
    time.sleep(3)  # past the delivery timeout: the record has failed
    forwarder._close_retiring()
    assert forwarder._retiring == []
    assert wait_until(lambda: not producer._sender.is_alive(), 5), "closed at the second try"
