"""One batch of Kafka records → one DuckDB transaction: events, duplicates absorbed, offsets.

Each call of :meth:`WarehouseWriter.write` commits, atomically,

* the events of the batch not seen before: a row in ``event_ids`` (where in Kafka it came
  from) and a row in the table of its type, inserted column-wise from Arrow tables;
* nothing for an event whose ``event_id`` is already in ``event_ids`` or earlier in the same
  batch: it is counted as a duplicate (a replay is expected, not an error);
* a row in ``ingest_rejects`` for a message that is not a valid batch of events;
* the upsert of ``kafka_offsets``: per partition, the next offset to consume and the
  fingerprint of the record before it.

So the warehouse never holds events without the offsets that cover them, or the reverse: a
crash at any point leaves it at the previous batch, and a restart resumes exactly there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Collection, Sequence

import duckdb
import msgspec
import pyarrow as pa
from kafka import TopicPartition

from autoscope.collector import contract
from autoscope.warehouse.columns import TableLayout, event_type, table_layouts
from autoscope.warehouse.log_identity import KafkaRecord, fingerprint

_REASON_MAX = 500

_IDS_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string()),
        pa.field("type", pa.string()),
        pa.field("ingested_at", pa.timestamp("us")),
        pa.field("kafka_topic", pa.string()),
        pa.field("kafka_partition", pa.int32()),
        pa.field("kafka_offset", pa.int64()),
    ]
)

_view_names = itertools.count()


@dataclasses.dataclass(frozen=True)
class StoredOffset:
    """Where consuming a partition resumes, and the fingerprint of the record before it."""

    next_offset: int
    fingerprint: str | None


@dataclasses.dataclass(frozen=True)
class BatchResult:
    """What one committed batch did."""

    ingested: int
    duplicates: int
    rejected: int
    offsets: dict[TopicPartition, StoredOffset]


class WarehouseWriter:
    """Writes batches into an open, migrated warehouse; the only writer of its connection.

    Parameters:
        conn: a read-write connection (or cursor) to the warehouse, used by this object only.
        group_id: the consumer group whose positions are stored in ``kafka_offsets``.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection, group_id: str) -> None:
        self.conn = conn
        self.group_id = group_id
        self.layouts: dict[str, TableLayout] = table_layouts(conn)

    def stored_offset(self, tp: TopicPartition) -> StoredOffset | None:
        rows = self.conn.execute(
            "SELECT next_offset, last_fingerprint FROM kafka_offsets"
            " WHERE consumer_group = ? AND topic = ? AND kafka_partition = ?",
            [self.group_id, tp.topic, tp.partition],
        ).fetchall()
        return StoredOffset(int(rows[0][0]), rows[0][1]) if rows else None

    def write(
        self, records: Sequence[KafkaRecord], replaced: Collection[TopicPartition] = ()
    ) -> BatchResult:
        """Store ``records`` (any partitions, each partition's in offset order) in one transaction.

        ``replaced`` names partitions whose log turned out to be replaced: their events are
        stored, but their position is stored as 0 (no fingerprint), to be read from the start.
        """
        ingested_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        candidates: dict[str, tuple[contract.Envelope, KafkaRecord]] = {}
        rejects: list[tuple[KafkaRecord, str]] = []
        last: dict[TopicPartition, KafkaRecord] = {}  # each partition's last record
        duplicates = 0
        for record in records:
            last[TopicPartition(record.topic, record.partition)] = record
            try:
                events = contract.decode_events(record.value or b"")
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                rejects.append((record, str(exc)[:_REASON_MAX]))
                continue
            for event in events:
                event_id = event.event_id
                if event_id in candidates:
                    duplicates += 1
                else:
                    candidates[event_id] = (event, record)
        # the position after each partition's last record; only that record is fingerprinted
        # (hashing every value cost ~0.5 µs per event, all but the last thrown away)
        offsets: dict[TopicPartition, StoredOffset] = {
            tp: StoredOffset(0, None) if tp in replaced
            else StoredOffset(record.offset + 1, fingerprint(record))
            for tp, record in last.items()
        }

        conn = self.conn
        conn.execute("BEGIN TRANSACTION")
        try:
            for event_id in self._already_stored(list(candidates)):
                del candidates[event_id]
                duplicates += 1
            if candidates:
                self._insert_events(list(candidates.values()), ingested_at)
            if rejects:
                self._insert_rejects(rejects, ingested_at)
            for tp, stored in offsets.items():
                conn.execute(
                    "INSERT INTO kafka_offsets VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (consumer_group, topic, kafka_partition) DO UPDATE SET"
                    " next_offset = excluded.next_offset,"
                    " last_fingerprint = excluded.last_fingerprint,"
                    " updated_at = excluded.updated_at",
                    [self.group_id, tp.topic, tp.partition, stored.next_offset,
                     stored.fingerprint, ingested_at],
                )
            conn.execute("COMMIT")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except duckdb.Error:
                pass  # the transaction is gone with the connection; the original error matters
            raise
        return BatchResult(len(candidates), duplicates, len(rejects), offsets)

    def _already_stored(self, event_ids: list[str]) -> list[str]:
        if not event_ids:
            return []
        with self._registered(pa.table({"event_id": pa.array(event_ids, pa.string())})) as view:
            rows = self.conn.execute(
                f"SELECT event_id FROM event_ids WHERE event_id IN (SELECT event_id FROM {view})"
            ).fetchall()
        return [row[0] for row in rows]

    def _insert_events(
        self, kept: list[tuple[contract.Envelope, KafkaRecord]], ingested_at: dt.datetime
    ) -> None:
        types = [event_type(event) for event, _ in kept]
        ids = pa.Table.from_arrays(
            [
                pa.array([event.event_id for event, _ in kept], pa.string()),
                pa.array(types, pa.string()),
                pa.repeat(pa.scalar(ingested_at, pa.timestamp("us")), len(kept)),
                pa.array([record.topic for _, record in kept], pa.string()),
                pa.array([record.partition for _, record in kept], pa.int32()),
                pa.array([record.offset for _, record in kept], pa.int64()),
            ],
            schema=_IDS_SCHEMA,
        )
        with self._registered(ids) as view:
            self.conn.execute(f"INSERT INTO event_ids BY NAME SELECT * FROM {view}")
        by_type: dict[str, list[contract.Envelope]] = {}
        for type_, (event, _) in zip(types, kept):
            by_type.setdefault(type_, []).append(event)
        for type_, events in by_type.items():
            layout = self.layouts[type_]
            with self._registered(layout.build(events)) as view:
                self.conn.execute(f"INSERT INTO {layout.table} BY NAME SELECT * FROM {view}")

    def _insert_rejects(self, rejects: list[tuple[KafkaRecord, str]], at: dt.datetime) -> None:
        self.conn.executemany(
            "INSERT INTO ingest_rejects VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                [r.topic, r.partition, r.offset, fingerprint(r), len(r.value or b""), reason, at]
                for r, reason in rejects
            ],
        )

    def _registered(self, table: pa.Table) -> "_Registered":
        return _Registered(self.conn, table)


class _Registered:
    """An Arrow table visible to SQL under a unique name for the duration of a ``with``."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
        self.conn = conn
        self.table = table
        self.name = f"_autoscope_batch_{next(_view_names)}"

    def __enter__(self) -> str:
        self.conn.register(self.name, self.table)
        return self.name

    def __exit__(self, *exc: object) -> None:
        self.conn.unregister(self.name)
