"""The batch transaction on a real DuckDB file, without Kafka: all of a batch or none of it."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from types import SimpleNamespace

import duckdb
import msgspec
import pytest
from kafka import TopicPartition

from autoscope.collector import contract
from autoscope.warehouse.lake import connect_lake
from autoscope.warehouse.reader import event_counts, total_events
from autoscope.warehouse.schema import migrate
from autoscope.warehouse.writer import StoredOffset, WarehouseWriter
from tests.warehouse.streams import TEMPLATES, make_events


def records(events, per_message: int, first_offset: int = 0, partition: int = 0):
    return [
        SimpleNamespace(
            topic="t",
            partition=partition,
            offset=first_offset + n,
            timestamp=1000 + n,
            value=contract.encode_events(events[i : i + per_message]),
        )
        for n, i in enumerate(range(0, len(events), per_message))
    ]


@pytest.fixture(params=["file", "lake"])
def conn(request: pytest.FixtureRequest, tmp_path: Path):
    """A migrated warehouse of each backend: a DuckDB file, and a DuckLake with a PostgreSQL catalog."""
    if request.param == "lake":
        connection = connect_lake(request.getfixturevalue("lake_location"))
    else:
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


def test_stored_values_are_the_validated_ones_times_in_utc_and_defaults_filled(conn) -> None:
    """Rows come from the canonical JSON of the validated Structs (DuckDB's from_json)."""
    writer = WarehouseWriter(conn, "g")
    plus_5_30 = dt.timezone(dt.timedelta(hours=5, minutes=30))
    task = msgspec.structs.replace(
        TEMPLATES["task"],
        event_id=str(uuid.UUID(int=1)),
        family=None,  # family: normalize's default
        occurred_at=dt.datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=plus_5_30),
    )
    deployment = msgspec.structs.replace(
        TEMPLATES["model_deployment"],
        event_id=str(uuid.UUID(int=2)),
        internal_at=dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.timezone(-dt.timedelta(hours=8))),
        public_at=None,
    )
    spend = msgspec.structs.replace(
        TEMPLATES["spend"], event_id=str(uuid.UUID(int=3)), amount_usd=0.1, input_tokens=2**62
    )
    writer.write(records([task, deployment, spend], 3))
    assert conn.execute("SELECT occurred_at, family, category FROM tasks").fetchall() == [
        (dt.datetime(2026, 3, 1, 6, 30, 0, 250_000), task.category, task.category)
    ]
    assert conn.execute("SELECT internal_at, public_at FROM model_deployments").fetchall() == [
        (dt.datetime(2026, 1, 1, 8, 30), None)
    ]
    assert conn.execute("SELECT amount_usd, input_tokens FROM spend").fetchall() == [(0.1, 2**62)]


def test_a_message_the_tables_cannot_hold_is_rejected_alone(conn) -> None:
    """input_tokens past BIGINT is valid for the contract, not for the column: a reject, no stall."""
    writer = WarehouseWriter(conn, "g")
    good = make_events(16, stream=1)
    huge = msgspec.structs.replace(TEMPLATES["spend"], event_id=str(uuid.UUID(int=9)), input_tokens=2**64 - 1)
    batch = records(good[:8], 8) + records([good[8], huge], 2, first_offset=1) + records(good[9:], 7, first_offset=2)
    result = writer.write(batch)
    assert (result.ingested, result.rejected) == (15, 1)
    assert total_events(conn) == 15 and sum(event_counts(conn).values()) == 15
    [(offset, reason)] = conn.execute("SELECT kafka_offset, reason FROM ingest_rejects").fetchall()
    assert offset == 1 and "out of range" in reason
    assert writer.stored_offset(TopicPartition("t", 0)).next_offset == 3


def test_replayed_events_are_absorbed_with_the_new_ones_stored(conn) -> None:
    writer = WarehouseWriter(conn, "g")
    events = make_events(40)
    writer.write(records(events[:20], 10))
    # a batch that is half replay: the primary key refuses it, the lookup writes the rest
    result = writer.write(records(events[10:40], 10, first_offset=2))
    assert (result.ingested, result.duplicates, result.rejected) == (20, 10, 0)
    assert total_events(conn) == 40 and sum(event_counts(conn).values()) == 40
    assert conn.execute("SELECT min(kafka_offset), max(kafka_offset) FROM event_ids").fetchall() == [(0, 4)]
    result = writer.write(records(events, 40, first_offset=5))  # all replay
    assert (result.ingested, result.duplicates) == (0, 40)
    assert writer.stored_offset(TopicPartition("t", 0)).next_offset == 6


def test_a_message_that_breaks_the_contract_stores_none_of_its_events(conn) -> None:
    writer = WarehouseWriter(conn, "g")
    good = make_events(10)
    bad = msgspec.json.encode(
        [
            msgspec.to_builtins(good[0]) | {"event_id": str(uuid.UUID(int=77))},
            msgspec.to_builtins(good[1]) | {"team": "has spaces@example"},
        ]
    )
    batch = [SimpleNamespace(topic="t", partition=0, offset=0, timestamp=1, value=bad)]
    batch += records(good[2:], 8, first_offset=1)
    result = writer.write(batch)
    assert (result.ingested, result.rejected) == (8, 1)
    assert conn.execute("SELECT count(*) FROM event_ids WHERE event_id = ?", [str(uuid.UUID(int=77))]).fetchall() == [
        (0,)
    ]
    [(reason,)] = conn.execute("SELECT reason FROM ingest_rejects").fetchall()
    assert "$[1].team" in reason


def test_cache_tokens_have_columns_of_their_own(conn) -> None:
    """Contract revision 5: prompt-cache reads and writes stored apart from input, NULL when not sent."""
    writer = WarehouseWriter(conn, "g")
    cached = msgspec.structs.replace(
        TEMPLATES["spend"],
        event_id=str(uuid.UUID(int=11)),
        input_tokens=120,
        cache_read_tokens=800,
        cache_write_tokens=40,
    )
    plain = msgspec.structs.replace(TEMPLATES["spend"], event_id=str(uuid.UUID(int=12)), input_tokens=5)
    writer.write(records([cached, plain], 2))
    assert conn.execute(
        "SELECT input_tokens, cache_read_tokens, cache_write_tokens FROM spend ORDER BY input_tokens"
    ).fetchall() == [(5, None, None), (120, 800, 40)]
