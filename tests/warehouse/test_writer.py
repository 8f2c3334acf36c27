"""The batch transaction on a real DuckDB file, without Kafka: all of a batch or none of it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from kafka import TopicPartition

from autoscope.collector import contract
from autoscope.warehouse.reader import event_counts, total_events
from autoscope.warehouse.schema import migrate
from autoscope.warehouse.writer import StoredOffset, WarehouseWriter
from tests.warehouse.streams import make_events


def records(events, per_message: int, first_offset: int = 0, partition: int = 0):
    return [
        SimpleNamespace(topic="t", partition=partition, offset=first_offset + n, timestamp=1000 + n,
                        value=contract.encode_events(events[i:i + per_message]))
        for n, i in enumerate(range(0, len(events), per_message))
    ]


@pytest.fixture
def conn(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(connection)
    yield connection
    connection.close()


def test_events_and_offsets_commit_together(conn) -> None:
    writer = WarehouseWriter(conn, "g")
    events = make_events(30)
    result = writer.write(records(events, 10) + records(events[:5], 5, first_offset=7, partition=1))
    assert (result.ingested, result.duplicates) == (30, 5)
    assert writer.stored_offset(TopicPartition("t", 0)) == result.offsets[TopicPartition("t", 0)]
    assert result.offsets[TopicPartition("t", 1)].next_offset == 8
    assert total_events(conn) == 30 and sum(event_counts(conn).values()) == 30


def test_a_failing_batch_leaves_neither_events_nor_offsets(conn) -> None:
    writer = WarehouseWriter(conn, "g")
    writer.write(records(make_events(10, stream=1), 10))
    before = writer.stored_offset(TopicPartition("t", 0))
    # break the last statement of the transaction, the offsets upsert, with a real DuckDB error
    conn.execute("ALTER TABLE kafka_offsets RENAME TO kafka_offsets_gone")
    with pytest.raises(duckdb.Error):
        writer.write(records(make_events(10, stream=2), 5, first_offset=1))
    conn.execute("ALTER TABLE kafka_offsets_gone RENAME TO kafka_offsets")
    assert total_events(conn) == 10 and sum(event_counts(conn).values()) == 10
    assert writer.stored_offset(TopicPartition("t", 0)) == before == StoredOffset(1, before.fingerprint)
