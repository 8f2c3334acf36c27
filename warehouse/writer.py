"""One batch of Kafka records → one DuckDB transaction: events, duplicates absorbed, offsets.

Each committed batch holds, atomically,

* the events of the batch not seen before: a row in ``event_ids`` (where in Kafka it came
  from) and a row in the table of its type;
* nothing for an event whose ``event_id`` is already in ``event_ids`` or earlier in the same
  batch: it is counted as a duplicate (a replay is expected, not an error);
* a row in ``ingest_rejects`` for a message that is not a valid batch of events, or whose
  events the warehouse cannot hold (a value out of its column's range);
* the upsert of ``kafka_offsets``: per partition, the next offset to consume and the
  fingerprint of the record before it.

So the warehouse never holds events without the offsets that cover them, or the reverse: a
crash at any point leaves it at the previous batch, and a restart resumes exactly there.

Writing is two steps, so that the ingester can overlap them (see
:mod:`autoscope.warehouse.ingester`):

* :meth:`WarehouseWriter.prepare` (Python, holds the GIL, touches no database): every message
  is decoded and validated against the contract (:func:`structs.decode_events`; a message
  that fails is a reject, none of its events is stored), events repeated within the batch are
  dropped, and the validated events are encoded again, per type, as canonical JSON lines
  (msgspec's encoding of the decoded Structs: what is stored is what was validated, never the
  raw bytes). No row is built in Python.
* :meth:`WarehouseWriter.commit` (DuckDB, which releases the GIL while it works): one
  transaction. The rows come from DuckDB's ``from_json`` over those lines
  (:meth:`TableLayout.insert_sql`). ``event_ids`` is inserted first, optimistically: its
  primary key refuses an event stored before, and only then is the batch looked up and
  written again without them, so a batch without replays never pays for the lookup. A
  statement that fails because of a message's values (e.g. an integer past BIGINT) is
  retried with each message alone to find it; that message becomes a reject with DuckDB's
  reason and the rest is written: a bad message never stalls its partition.

In a lake (:mod:`autoscope.warehouse.lake`) there is no primary key to refuse a stored event:
the batch's ids are looked up in ``event_ids`` first, inside the transaction, and those found
are left out (the same anti-join the file backend falls back to on a replay); the offsets are
deleted and inserted again, as there is no key for ``ON CONFLICT`` either. The look-up reads all
of ``event_ids`` (event ids are random: no file can be skipped); a writer that owns some of the
partitions could restrict it to them (:meth:`WarehouseWriter._already_stored`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Collection, Sequence
from operator import attrgetter

import duckdb
import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from kafka import TopicPartition

from autoscope.core import structs
from autoscope.warehouse.agent_turns import refresh_turn_tasks
from autoscope.warehouse.columns import TableLayout, table_layouts
from autoscope.warehouse.lake import is_lake
from autoscope.warehouse.log_identity import KafkaRecord, fingerprint

_REASON_MAX = 500

#: errors a statement raises because of the values it was given, not because of the database
_VALUE_ERRORS = (
    duckdb.ConversionException,
    duckdb.ConstraintException,
    duckdb.InvalidInputException,
    duckdb.OutOfRangeException,
)

_event_id = attrgetter("event_id")
_encoder = msgspec.json.Encoder()

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


@dataclasses.dataclass(frozen=True)
class _Message:
    """A valid message: its events as canonical JSON, one object a line, and their ids."""

    record: KafkaRecord
    lines: bytes
    ids: list[str]


class PartitionTaken(RuntimeError):
    """Another writer stored a position for a partition of this batch since this writer last
    stored or read it: two ingesters read the same partition (the batch is rolled back)."""


@dataclasses.dataclass(frozen=True)
class PreparedBatch:
    """A batch decoded, validated and encoded by :meth:`WarehouseWriter.prepare`, not yet stored.

    ``offsets``: the position each partition will have once it is committed.
    ``expected``: when set, the position each partition must still have in ``kafka_offsets``
    (None: no row) when the batch commits, checked inside its transaction; a difference raises
    :class:`PartitionTaken`. Several ingesters over one lake set it (a fence: see
    :mod:`autoscope.warehouse.partition_share`).
    """

    ingested_at: dt.datetime
    messages: list[_Message]
    rejects: list[tuple[KafkaRecord, str]]
    offsets: dict[TopicPartition, StoredOffset]
    duplicates: int  # events repeated within the batch
    expected: dict[TopicPartition, StoredOffset | None] | None = None


@dataclasses.dataclass
class _Tables:
    """A batch's events as one Arrow table: the JSON line ``v``, ``event_id`` and where in
    Kafka it came from; None when there are none."""

    events: pa.Table | None
    excluded: int  # events left out because they were stored before


class WarehouseWriter:
    """Writes batches into an open, migrated warehouse; the only writer of its connection.

    Parameters:
        conn: a read-write connection (or cursor) to the warehouse, used by this object only.
        group_id: the consumer group whose positions are stored in ``kafka_offsets``.

    :meth:`prepare` does not touch ``conn`` and may run in another thread than :meth:`commit`,
    while an earlier batch commits; the commits themselves must come one at a time, in order.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection, group_id: str) -> None:
        self.conn = conn
        self.group_id = group_id
        self.layouts: dict[str, TableLayout] = table_layouts(conn)
        #: a lake has no keys: stored ids are looked up before inserting, offsets deleted and re-inserted
        self.in_lake = is_lake(conn)
        self._leftovers: list[str] = []  # views to unregister once a failed transaction is gone

    def stored_offset(self, tp: TopicPartition) -> StoredOffset | None:
        rows = self.conn.execute(
            "SELECT next_offset, last_fingerprint FROM kafka_offsets"
            " WHERE consumer_group = ? AND topic = ? AND kafka_partition = ?",
            [self.group_id, tp.topic, tp.partition],
        ).fetchall()
        return StoredOffset(int(rows[0][0]), rows[0][1]) if rows else None

    def write(self, records: Sequence[KafkaRecord], replaced: Collection[TopicPartition] = ()) -> BatchResult:
        """Store ``records`` (any partitions, each partition's in offset order) in one transaction.

        ``replaced`` names partitions whose log turned out to be replaced: their events are
        stored, but their position is stored as 0 (no fingerprint), to be read from the start.
        """
        return self.commit(self.prepare(records, replaced))

    # -- step 1: Python only -------------------------------------------------------------

    @staticmethod
    def prepare(records: Sequence[KafkaRecord], replaced: Collection[TopicPartition] = ()) -> PreparedBatch:
        """Decode, validate and encode ``records`` for :meth:`commit` (see :meth:`write`)."""
        ingested_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        rejects: list[tuple[KafkaRecord, str]] = []
        last: dict[TopicPartition, KafkaRecord] = {}  # each partition's last record
        decoded: list[tuple[KafkaRecord, list[structs.Envelope], list[str]]] = []
        ids: list[str] = []
        for record in records:
            last[TopicPartition(record.topic, record.partition)] = record
            try:
                events = structs.decode_events(record.value or b"")
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                rejects.append((record, str(exc)[:_REASON_MAX]))
                continue
            event_ids = list(map(_event_id, events))
            decoded.append((record, events, event_ids))
            ids.extend(event_ids)
        duplicates = 0
        if len(set(ids)) != len(ids):  # an event repeated within the batch: keep the first
            seen: set[str] = set()
            for n, (record, events, _) in enumerate(decoded):
                kept = []
                for event in events:
                    if event.event_id in seen:
                        duplicates += 1
                    else:
                        seen.add(event.event_id)
                        kept.append(event)
                decoded[n] = (record, kept, list(map(_event_id, kept)))
        messages = []
        for record, events, event_ids in decoded:
            if not events:
                continue
            try:
                lines = _encoder.encode_lines(events)
            except (UnicodeEncodeError, TypeError, ValueError) as exc:  # defensive: decoded → encodable
                rejects.append((record, f"cannot encode its events: {exc}"[:_REASON_MAX]))
                continue
            messages.append(_Message(record, lines, event_ids))
        # the position after each partition's last record; only that record is fingerprinted
        # (hashing every value cost ~0.5 µs per event, all but the last thrown away)
        offsets: dict[TopicPartition, StoredOffset] = {
            tp: StoredOffset(0, None) if tp in replaced else StoredOffset(record.offset + 1, fingerprint(record))
            for tp, record in last.items()
        }
        return PreparedBatch(ingested_at, messages, rejects, offsets, duplicates)

    # -- step 2: one DuckDB transaction --------------------------------------------------

    def commit(self, batch: PreparedBatch) -> BatchResult:
        """Store a prepared batch and its offsets in one transaction."""
        conn = self.conn
        messages = batch.messages
        rejects = list(batch.rejects)
        stored: pa.Array | None = None  # ids of this batch already in the warehouse, once looked up
        while True:
            tables = self._tables(messages, stored)
            conn.execute("BEGIN TRANSACTION")
            try:
                if self.in_lake and stored is None and tables.events is not None:
                    stored = self._already_stored(tables)  # no key refuses them: leave them out first
                    if len(stored):
                        tables = self._tables(messages, stored)
                if tables.events is not None:
                    try:
                        self._insert_ids(tables, batch.ingested_at)
                    except duckdb.ConstraintException:
                        if stored is not None:
                            raise
                        # some were stored before (a replay): look them up, write the rest
                        self._rollback()
                        stored = self._already_stored(tables)
                        continue
                    try:
                        self._insert_types(tables)
                    except _VALUE_ERRORS as exc:
                        self._rollback()
                        unstorable = self._unstorable(messages, stored)
                        if not unstorable:
                            raise RuntimeError("the batch fails as a whole but no message alone") from exc
                        rejects.extend((m.record, reason) for m, reason in unstorable)
                        bad = {id(m) for m, _ in unstorable}
                        messages = [m for m in messages if id(m) not in bad]
                        continue
                if rejects:
                    self._insert_rejects(rejects, batch.ingested_at)
                if batch.expected is not None:
                    self._check_positions(batch.expected)
                for tp, position in batch.offsets.items():
                    if self.in_lake:
                        conn.execute(
                            "DELETE FROM kafka_offsets WHERE consumer_group = ? AND topic = ? AND kafka_partition = ?",
                            [self.group_id, tp.topic, tp.partition],
                        )
                        conn.execute(
                            "INSERT INTO kafka_offsets VALUES (?, ?, ?, ?, ?, ?)",
                            [
                                self.group_id,
                                tp.topic,
                                tp.partition,
                                position.next_offset,
                                position.fingerprint,
                                batch.ingested_at,
                            ],
                        )
                        continue
                    conn.execute(
                        "INSERT INTO kafka_offsets VALUES (?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (consumer_group, topic, kafka_partition) DO UPDATE SET"
                        " next_offset = excluded.next_offset,"
                        " last_fingerprint = excluded.last_fingerprint,"
                        " updated_at = excluded.updated_at",
                        [
                            self.group_id,
                            tp.topic,
                            tp.partition,
                            position.next_offset,
                            position.fingerprint,
                            batch.ingested_at,
                        ],
                    )
                conn.execute("COMMIT")
            except BaseException:
                try:
                    self._rollback()
                except duckdb.Error:
                    pass  # no transaction left, or it went with the connection; the original error matters
                raise
            ingested = tables.events.num_rows if tables.events is not None else 0
            return BatchResult(ingested, batch.duplicates + tables.excluded, len(rejects), batch.offsets)

    def claim_position(self, tp: TopicPartition) -> StoredOffset:
        """Store position 0 for a partition that has none yet, in a transaction of its own; returns
        the stored position. Why (several ingesters over a lake): DuckLake sees two transactions
        conflict on ``kafka_offsets`` only when one of them deleted a row of it, so every batch
        must find its partitions' rows there to delete; a first batch inserting the first row
        would not conflict with another writer's (tests/warehouse/test_lake_fencing.py)."""
        stored = self.stored_offset(tp)
        if stored is not None:
            return stored
        self.conn.execute(
            "INSERT INTO kafka_offsets VALUES (?, ?, ?, 0, NULL, now()::TIMESTAMP)",
            [self.group_id, tp.topic, tp.partition],
        )
        return StoredOffset(0, None)

    def _check_positions(self, expected: dict[TopicPartition, StoredOffset | None]) -> None:
        """Inside the transaction: every partition's stored position is the expected one."""
        for tp, position in expected.items():
            now = self.stored_offset(tp)
            if now != position:
                raise PartitionTaken(
                    f"{tp.topic}/{tp.partition}: its stored position is {now}, not {position} as this ingester "
                    f"(group {self.group_id}) left it: another ingester reads this partition (two given the same "
                    "--share?); this one stops, its batch rolled back"
                )

    @staticmethod
    def _tables(messages: list[_Message], stored: pa.Array | None) -> _Tables:
        if not messages:
            return _Tables(None, 0)
        data = b"".join(m.lines for m in messages)  # each line ends in \n
        ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10) + 1
        offsets = np.zeros(len(ends) + 1, np.int64)
        offsets[1:] = ends
        lines = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
        event_ids = pa.array([i for m in messages for i in m.ids], pa.string())
        if len(event_ids) != len(lines):
            raise RuntimeError(f"{len(lines)} JSON lines for {len(event_ids)} events")
        index = pa.array(np.repeat(np.arange(len(messages)), [len(m.ids) for m in messages]))
        events = pa.table(
            {
                "v": lines,
                "event_id": event_ids,
                "kafka_topic": pc.take(pa.array([m.record.topic for m in messages], pa.string()), index),
                "kafka_partition": pc.take(pa.array([m.record.partition for m in messages], pa.int32()), index),
                "kafka_offset": pc.take(pa.array([m.record.offset for m in messages], pa.int64()), index),
            }
        )
        excluded = 0
        if stored is not None and len(stored):
            events = events.filter(pc.invert(pc.is_in(event_ids, value_set=stored)))
            excluded = len(event_ids) - events.num_rows
        return _Tables(events if events.num_rows else None, excluded)

    def _insert_ids(self, tables: _Tables, ingested_at: dt.datetime) -> None:
        assert tables.events is not None
        with self._registered(tables.events) as view:
            # the type is the first member of every line: msgspec writes a Struct's tag first
            self.conn.execute(
                "INSERT INTO event_ids (event_id, type, ingested_at, kafka_topic, kafka_partition,"
                " kafka_offset) SELECT event_id, split_part(v, '\"', 4), ?, kafka_topic,"
                f" kafka_partition, kafka_offset FROM {view}",
                [ingested_at],
            )

    def _insert_types(self, tables: _Tables) -> None:
        if tables.events is None:
            return
        stored = 0
        with self._registered(tables.events) as view:
            for layout in self.layouts.values():
                stored += self.conn.execute(layout.insert_sql(view)).fetchall()[0][0]
        if stored != tables.events.num_rows:  # a line whose type no table took: never silently
            raise RuntimeError(f"{tables.events.num_rows} events but {stored} rows in the type tables")
        with self._registered(tables.events.select(["event_id"])) as view:
            refresh_turn_tasks(self.conn, view)

    def _already_stored(self, tables: _Tables) -> pa.Array:
        assert tables.events is not None
        with self._registered(tables.events.select(["event_id"])) as view:
            rows = self.conn.execute(
                f"SELECT event_id FROM event_ids WHERE event_id IN (SELECT event_id FROM {view})"
            ).fetchall()
        return pa.array([row[0] for row in rows], pa.string())

    def _unstorable(self, messages: list[_Message], stored: pa.Array | None) -> list[tuple[_Message, str]]:
        """The messages whose rows a table refuses, each tried alone in a rolled-back transaction."""
        found = []
        for message in messages:
            tables = self._tables([message], stored)
            self.conn.execute("BEGIN TRANSACTION")
            try:
                self._insert_types(tables)
            except _VALUE_ERRORS as exc:
                found.append((message, f"not storable: {exc}"[:_REASON_MAX]))
            finally:
                self._rollback()
        return found

    def _insert_rejects(self, rejects: list[tuple[KafkaRecord, str]], at: dt.datetime) -> None:
        self.conn.executemany(
            "INSERT INTO ingest_rejects VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                [r.topic, r.partition, r.offset, fingerprint(r), len(r.value or b""), reason, at]
                for r, reason in rejects
            ],
        )

    def _registered(self, table: pa.Table) -> _Registered:
        return _Registered(self.conn, table, self._leftovers)

    def _rollback(self) -> None:
        self.conn.execute("ROLLBACK")
        while self._leftovers:
            self.conn.unregister(self._leftovers.pop())


class _Registered:
    """An Arrow table visible to SQL under a unique name for the duration of a ``with``."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, table: pa.Table, leftovers: list[str]) -> None:
        self.conn = conn
        self.table = table
        self.leftovers = leftovers
        self.name = f"_autoscope_batch_{next(_view_names)}"

    def __enter__(self) -> str:
        self.conn.register(self.name, self.table)
        return self.name

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.unregister(self.name)
        except duckdb.TransactionException:  # a failed statement aborted the transaction
            self.leftovers.append(self.name)  # unregistered after the ROLLBACK


__all__ = ["BatchResult", "PreparedBatch", "StoredOffset", "WarehouseWriter"]
