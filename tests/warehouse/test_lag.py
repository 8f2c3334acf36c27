"""The ingester's Kafka lag (warehouse/lag.py), measured against the real embedded broker: log
end offset − the consumer group's committed offset, per partition, clamped at 0; shown on the
collector's /metrics when the roof wires it in."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from autoscope.collector.app import CollectorSettings, create_app
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.warehouse.lag import IngesterLag

pytestmark = pytest.mark.integration


def produce(kafka: KafkaSettings, count: int) -> None:
    # one message per produce request: the embedded broker (Tansu) answers a log end offset
    # query with the last *batch's* base offset + 1, so batched messages would under-count
    producer = KafkaProducer(**kafka.client_kwargs(), linger_ms=0)
    for n in range(count):
        producer.send(kafka.topic, f"m{n}".encode()).get(timeout=10)
    producer.close()


def commit(kafka: KafkaSettings, offset: int) -> None:
    """Commit ``offset`` for the ingester's group, as the ingester does after a batch."""
    consumer = KafkaConsumer(**kafka.consumer_kwargs(), group_id=kafka.consumer_group, enable_auto_commit=False)
    consumer.assign([TopicPartition(kafka.topic, 0)])
    consumer.commit({TopicPartition(kafka.topic, 0): OffsetAndMetadata(offset, "", -1)})
    consumer.close()


def scrape(client: TestClient) -> dict[str, list]:
    families = text_string_to_metric_families(client.get("/metrics").text)
    return {f.name: f.samples for f in families}


def wait_for(check: Callable[[], bool], timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "the lag never showed"
        time.sleep(0.1)


def lag_of(client: TestClient, kafka: KafkaSettings) -> float | None:
    for sample in scrape(client).get("autoscope_ingester_lag_records", []):
        if sample.labels == {"topic": kafka.topic, "partition": "0"}:
            return sample.value
    return None


def test_lag_is_end_offset_minus_the_groups_committed_offset(kafka: KafkaSettings, tmp_path: Path) -> None:
    produce(kafka, 9)
    commit(kafka, 4)
    app = create_app(CollectorSettings(tmp_path, kafka), ingester_lag=IngesterLag(kafka, interval_s=0.2))
    with TestClient(app) as client:
        wait_for(lambda: lag_of(client, kafka) == 5)
        commit(kafka, 9)  # the ingester caught up
        wait_for(lambda: lag_of(client, kafka) == 0)
        metrics = scrape(client)
        assert metrics["autoscope_ingester_lag_failures"][0].value == 0
        assert abs(metrics["autoscope_ingester_lag_refreshed_timestamp_seconds"][0].value - time.time()) < 10


def test_a_group_that_never_committed_lags_by_the_whole_log_and_ahead_is_zero(kafka: KafkaSettings) -> None:
    produce(kafka, 3)
    lag = IngesterLag(kafka)
    try:
        assert lag.refresh() == {(kafka.topic, 0): 3}
        commit(kafka, 50)  # offsets ahead of the log: a topic recreated empty
        assert lag.refresh() == {(kafka.topic, 0): 0}
    finally:
        lag._close()


def test_a_broker_that_is_away_is_counted_not_raised(kafka: KafkaSettings, tmp_path: Path) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    away = dataclasses.replace(kafka, bootstrap_servers=f"127.0.0.1:{port}")
    lag = IngesterLag(away, interval_s=0.2).start()
    try:
        wait_for(lambda: lag.failures >= 1)
        assert lag.snapshot() == {} and lag.last_error
    finally:
        lag.stop()


def test_dropped_by_reason_is_exposed_even_when_zero(kafka: KafkaSettings, tmp_path: Path) -> None:
    with TestClient(create_app(CollectorSettings(tmp_path, kafka))) as client:
        metrics = scrape(client)
    dropped = {s.labels["reason"]: s.value for s in metrics["autoscope_events_dropped"] if s.name.endswith("_total")}
    assert dropped == {"mapping_failed": 0, "implausible_count": 0}
    assert "autoscope_ingester_lag_records" not in metrics
