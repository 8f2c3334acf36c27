"""The Kafka → DuckDB ingester: reads every partition of the events topic and stores each event once.

Exactly once, by construction rather than by Kafka transactions:

* Every polled batch is written in ONE DuckDB transaction together with the consumed offsets
  (``kafka_offsets``: next offset per partition and the fingerprint of the record before it),
  see :mod:`autoscope.warehouse.writer`. DuckDB, not Kafka, is the source of truth for
  positions: when the group assigns a partition, the ingester seeks it to the stored offset
  (or to the beginning when nothing is stored). Offsets are committed to Kafka after the
  DuckDB commit only so that lag monitoring works; they are never read back.
* Batches are pipelined: while the writer thread commits batch n (DuckDB releases the GIL while
  it works), the polling thread fetches, checks and prepares batch n+1 (decoding and
  validating it against the contract: Python, holding the GIL). Commits still happen one at a
  time and in order, each with its own offsets, so a crash leaves the warehouse at the last
  commit. Nothing waits on the writer except where order matters: before the next commit,
  before the partitions read change, before the warehouse is handed to another process, and
  before stopping. A partition's log is checked against the position it will have once the
  batch in flight commits (that batch's last record is in hand, with its fingerprint).
* ``event_id`` is unique across the warehouse, so anything read twice (a replay by the
  collector, a restart, a log read again from the start) is absorbed and counted as a
  duplicate.
* The ingester assigns itself every partition of the topic (``assign``, not a group
  ``subscribe``) and looks at the topic's partitions again every ``metadata_refresh_s``: one
  ingester per warehouse is the design (DuckDB has one writer), so a group coordinator has
  nothing to balance, and leaning on one lost events. The embedded broker (Tansu 0.6), when a
  member already in the group re-joins, answers with the assignment of the group's first
  generation: after the broker restarted empty and the topic came back with more partitions
  (a producer's send makes Tansu create it with its default of 4), the ingester kept the one
  partition it had joined with and never read the others (tests/faults/test_broker_outage.py
  at short outages; tests/warehouse/test_ingester.py). The consumer group id stays: the
  offsets committed to Kafka under it are what lag monitoring reads.
* A log can be replaced under the ingester (the embedded broker keeps nothing across a
  restart; a topic can be deleted and created again). The ingester checks, with a group-less
  reader, that the record at ``stored next_offset - 1`` still carries the stored fingerprint:
  when a partition is assigned, when it has been idle for ``idle_check_s``, and before every
  batch is written (a broker restarted in a blink hands the consumer a new log at the old
  position without any error, so no cheaper signal is reliable). If the record is missing or
  different, the partition is read again from the beginning: the batch's events are still
  stored (dedup absorbs them later), but its stored position goes back to 0, so a crash right
  after cannot resume in the middle of a log that was never read from its start. Nothing here
  depends on end offsets or on OffsetOutOfRange, which brokers do not all report faithfully.

Readers. DuckDB lets one process open a file for writing, and while it does, other processes
cannot open that file at all, not even read-only. So:

* code in the ingester's process reads through :meth:`Ingester.cursor` (a cursor on the
  ingester's database instance; it sees committed batches only, never half a batch);
* code in another process (``autoscope indicators``, a report, an export) takes a turn with
  :func:`autoscope.warehouse.turns.turn`: the ingester checks between batches whether a
  process wants the file, and if so closes it, waits until that process is done, and reopens
  it (see :mod:`autoscope.warehouse.turns`). Without a turn, such code can only use
  :func:`autoscope.warehouse.reader.open_read_only` while the ingester is stopped.
  Several writers or concurrent readers across
  processes are what DuckLake is for (docs/design.md, "One DuckDB file, and turns").

Several ingesters over one lake. With a DuckLake warehouse (:mod:`autoscope.warehouse.lake`)
any number of ingester processes write at once, each reading a static share of the partitions
(``share``, :mod:`autoscope.warehouse.partition_share`: ingester i of n reads ``p % n == i``).
Exactly once still holds, per partition and across them:

* a partition has one writer: each batch carries the positions this ingester last stored or
  read for its partitions, and the writer checks them inside the transaction
  (:class:`~autoscope.warehouse.writer.PartitionTaken` otherwise: the ingester stops, nothing of
  the batch is stored);
* every batch rewrites its partitions' rows of ``kafka_offsets`` (delete + insert; a partition's
  row is stored, at 0, when it is first read, so there is always one to delete), and DuckLake's
  conflict detection is per table: of two transactions that delete rows of it and commit at
  once, one fails. The ingester then commits the same batch again, in a new transaction that sees the
  other's rows (its stored-id look-up with them): two writers' batches are serialized, so an
  event whose copies went to two partitions is still stored once. A retried batch that meets
  a moved position is the fence above;
* the forwarder sends every copy of an event to the same partition
  (:mod:`autoscope.core.event_keys`), so even without that serialization the copies meet the
  same single writer.

The lake has no file lock and no turns: readers in other processes attach it themselves.

Command line (runs until SIGTERM or SIGINT; the batch in progress is finished or rolled back)::

    python -m autoscope.warehouse.ingester --bootstrap HOST:PORT --topic T --db PATH
    python -m autoscope.warehouse.ingester --bootstrap HOST:PORT --lake-catalog postgres:DSN \
        --lake-data DIR --share 0/2
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from autoscope.core.kafka_settings import DEFAULT_CONSUMER_GROUP, DEFAULT_TOPIC, KafkaSettings
from autoscope.warehouse.lake import LakeLocation, connect_lake
from autoscope.warehouse.log_identity import LogUnreachable, RecordReader
from autoscope.warehouse.partition_share import PartitionShare
from autoscope.warehouse.schema import migrate
from autoscope.warehouse.turns import Holder
from autoscope.warehouse.writer import BatchResult, PartitionTaken, PreparedBatch, StoredOffset, WarehouseWriter

log = logging.getLogger(__name__)

#: DuckDB settings of the ingester's connection. DuckDB checkpoints when its WAL passes
#: ``checkpoint_threshold`` (default 16 MB, i.e. every 3rd-4th batch of 500-event messages),
#: and each checkpoint rewrites the event_id index: 10-15 % of ingest CPU in the benchmark.
#: Commits stay durable through the WAL; only WAL replay after a crash gets longer.
#: ``threads``: the inserts are committed by one writer thread beside the polling thread that
#: decodes (two busy threads already); a DuckDB worker pool of two threads on top of them cost
#: 1.4-1.9 µs more CPU per event in the benchmark (back-to-back A/B) and slowed the decode.
#: It is the database instance's setting, so readers through :meth:`Ingester.cursor` share it;
#: heavy readers (indicators, report, export) take a turn and open the file themselves.
DB_CONFIG = {"checkpoint_threshold": "256MB", "threads": 1}

DEFAULT_GROUP = DEFAULT_CONSUMER_GROUP


def lake_conflict(error: BaseException) -> bool:
    """Whether ``error`` is DuckLake refusing a commit because another transaction committed a
    conflicting change first (the batch is rolled back; committing it again is safe)."""
    return isinstance(error, duckdb.TransactionException) and "DuckLake transaction" in str(error)


class _NoTurns:
    """A lake's stand-in for :class:`~autoscope.warehouse.turns.Holder`: nobody waits for a turn."""

    def acquire(self, timeout_s: float | None = None) -> None:
        pass

    def someone_waiting(self) -> bool:
        return False

    def hand_over(self) -> None:
        pass

    def release(self) -> None:
        pass


@dataclasses.dataclass(frozen=True)
class IngesterStats:
    """Counters since this Ingester was created.

    ingested: events written; duplicates: events absorbed because their event_id was already
    stored or repeated in the batch; rejected: messages that were not a batch of valid
    events (recorded in ``ingest_rejects``); batches: committed transactions; log_resets:
    partitions read again from the start because their log was replaced; last_batch_at:
    ``time.time()`` of the last commit, or None; conflicts: commits a lake refused because
    another ingester committed first (each batch then committed again).
    """

    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    log_resets: int = 0
    last_batch_at: float | None = None
    conflicts: int = 0


class _PartitionState:
    """What the ingester knows about one assigned partition."""

    __slots__ = ("stored", "last_active")

    def __init__(self, stored: StoredOffset | None) -> None:
        #: the position in DuckDB once the batch in flight (if any) commits, valid for the
        #: current log; None when reading from the start
        self.stored = stored
        #: time.monotonic() of the last records or the last successful check
        self.last_active = time.monotonic()


class Ingester:
    """Consume ``settings.topic`` with a consumer group and store it in the DuckDB file ``db_path``.

    Parameters:
        settings: where Kafka is and which topic to read.
        db_path: the warehouse: a DuckDB file, created and migrated when needed, or a
            :class:`~autoscope.warehouse.lake.LakeLocation` (migrated when needed; a lake needs no
            turn-taking: other processes read it, at any snapshot, while this one writes).
        share: which partitions to read (ingester i of n); None: all. Only a lake takes more
            than one ingester.
        conflict_retries: a batch the lake refused because another ingester committed first is
            committed again up to this many times.
        group_id: the consumer group (default: ``settings.consumer_group``); also the key of
            the positions in ``kafka_offsets``.
        max_records: most records (messages) written in one transaction.
        poll_timeout_ms: how long one poll waits for records.
        gather_records, gather_ms: after a poll that returned records, keep polling (50 ms
            at a time, at most ``gather_ms`` in all) while records keep coming, until
            ``gather_records`` records are in hand: fewer, bigger transactions. 0 turns it off.
        idle_check_s: an idle partition's log is checked this often.
        probe_timeout_s: how long the log check waits for a record before calling it missing.
        metadata_refresh_s: how often the topic's partitions are looked at again, so that
            partitions that appear while the ingester runs are read within this time: a topic
            re-created with more partitions (the embedded broker, restarted empty, creates a
            topic a producer sends to with its own default of 4), or partitions a lab adds
            (kafka-python refreshes metadata every 5 minutes by default). One small metadata
            request per refresh.
        commit_to_kafka: also commit offsets to Kafka after each batch (lag monitoring only).
    """

    def __init__(
        self,
        settings: KafkaSettings,
        db_path: str | Path | LakeLocation,
        group_id: str | None = None,
        *,
        max_records: int = 2000,
        poll_timeout_ms: int = 500,
        gather_records: int = 200,
        gather_ms: int = 200,
        idle_check_s: float = 3.0,
        probe_timeout_s: float = 2.0,
        metadata_refresh_s: float = 5.0,
        commit_to_kafka: bool = True,
        share: PartitionShare | None = None,
        conflict_retries: int = 50,
    ) -> None:
        self.settings = settings
        self.lake = db_path if isinstance(db_path, LakeLocation) else None
        self.db_path = Path(db_path) if self.lake is None else Path(self.lake.data_path)
        self.share = share or PartitionShare()
        if self.share.count > 1 and self.lake is None:
            raise ValueError(
                f"share {self.share}: several ingesters need a lake warehouse; a DuckDB file has one writer"
            )
        self.conflict_retries = conflict_retries
        #: what kafka_offsets holds for each read partition, as this ingester last stored or read
        #: it; a lake batch must find it unchanged (the fence of several ingesters)
        self._committed: dict[TopicPartition, StoredOffset | None] = {}
        group_id = group_id or settings.consumer_group
        self.group_id = group_id
        self.max_records = max_records
        self.poll_timeout_ms = poll_timeout_ms
        self.gather_records = min(gather_records, max_records)
        self.gather_ms = gather_ms
        self.idle_check_s = idle_check_s
        self.metadata_refresh_s = metadata_refresh_s
        self.commit_to_kafka = commit_to_kafka
        self._stats = IngesterStats()
        self._stats_lock = threading.Lock()
        self._partitions: dict[TopicPartition, _PartitionState] = {}
        self._closed = False
        #: the batch the writer thread is committing: (its future, the batch)
        self._in_flight: tuple[Future[BatchResult], PreparedBatch] | None = None
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autoscope-commit")
        #: the helper thread of the log checks; the reader is used by one thread at a time
        self._checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autoscope-logcheck")

        # taking turns with jobs in other processes (autoscope.warehouse.turns): hold <db>.lock
        self._turns: Holder | _NoTurns = Holder(self.db_path) if self.lake is None else _NoTurns()
        self._turns.acquire()
        # the database first: a second ingester on the same file fails here, before it joins
        try:
            self._db = self._connect_migrated()
        except BaseException:
            self._turns.release()
            raise
        try:
            self._writer = WarehouseWriter(self.cursor(), group_id)
            self._reader = RecordReader(settings, timeout_s=probe_timeout_s)
            self._consumer = KafkaConsumer(
                **settings.consumer_kwargs(),
                group_id=group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=max_records,
                metadata_max_age_ms=int(metadata_refresh_s * 1000),
            )
            self._next_partition_check = 0.0  # time.monotonic() of the next look at the topic
        except BaseException:
            self._db.close()
            self._turns.release()
            raise

    def _connect_migrated(self, attempts: int = 6) -> duckdb.DuckDBPyConnection:
        """The warehouse, connected and migrated. Ingesters of one lake often start together,
        and two that create the lake's catalog or apply a migration at once collide (PostgreSQL
        refuses the second CREATE TABLE, DuckLake the second commit): the one that lost tries
        again after a random wait, and then finds the work done."""
        for attempt in range(1, attempts + 1):
            conn = None
            try:
                conn = self._connect()
                migrate(conn)
                return conn
            except duckdb.Error:
                if conn is not None:
                    conn.close()
                if self.lake is None or attempt == attempts:
                    raise
                log.warning("setting up the lake collided with another process (attempt %d); again", attempt)
                time.sleep(random.uniform(0.1, 0.5 * attempt))
        raise AssertionError("unreachable")

    @property
    def where(self) -> str:
        """The warehouse, for log lines (no credentials)."""
        return self.lake.describe() if self.lake is not None else str(self.db_path)

    # -- reading while it runs ------------------------------------------------------------

    @property
    def stats(self) -> IngesterStats:
        """A consistent snapshot of the counters; safe to read from any thread."""
        with self._stats_lock:
            return self._stats

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the warehouse for readers in this process (any thread); close it after use."""
        return self._db.cursor()  # a lake's cursors keep the lake as their database (LakeConnection)

    # -- running ------------------------------------------------------------------------------

    def run(self, stop_event: threading.Event) -> IngesterStats:
        """Ingest until ``stop_event`` is set; the batch in progress is finished first."""
        while not stop_event.is_set():
            self.step()
        self._finish()
        return self.stats

    def run_until(self, until: int | Callable[[Ingester], bool], timeout: float = 30.0) -> bool:
        """Ingest until ``until`` holds, or ``timeout`` seconds pass; returns whether it held.

        ``until`` is a predicate on this Ingester, or a number of events: ``stats.ingested``
        (events newly written by this Ingester, duplicates not counted) reaching it.
        """
        if isinstance(until, int):
            target = until

            def reached(ingester: Ingester) -> bool:
                return ingester.stats.ingested >= target

        else:
            reached = until
        deadline = time.monotonic() + timeout
        while not reached(self):
            if time.monotonic() >= deadline:
                self._finish()
                return reached(self)
            self.step()
        return True

    def step(self) -> int:
        """One poll; its batch prepared and handed to the writer thread (if any); the batch
        before it committed; idle partitions checked. Returns the events the batch that was
        committed during this step wrote (the one before the batch of this poll, or, when
        nothing came, the one in flight)."""
        written = self._follow_partitions()
        # while a batch commits, do not sit in a long poll: when nothing comes, finish it
        timeout_ms = self.poll_timeout_ms if self._in_flight is None else min(self.poll_timeout_ms, 50)
        if not self._partitions:  # the topic does not exist (yet): nothing to poll
            time.sleep(timeout_ms / 1000)
            return written + self._finish()
        polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        if polled and self.gather_records:
            self._gather(polled)
        prepared = self._prepare(polled) if polled else None
        written += self._finish()
        if prepared is not None:
            self._submit(prepared)
        self._check_idle_partitions()
        if self._turns.someone_waiting():  # between batches: nothing in flight
            written += self._finish()
            self._hand_over()
        return written

    def close(self) -> None:
        """Leave the group and close Kafka clients and the warehouse (idempotent).

        Call it from the thread that runs the ingester, or after :meth:`run` has returned.
        """
        if self._closed:
            return
        self._closed = True
        try:
            self._finish(commit_to_kafka=False)
        except Exception:  # it is rolled back; the stored offsets say where to resume
            log.exception("the last batch failed")
        self._committer.shutdown(wait=True)
        self._checker.shutdown(wait=True)
        try:
            self._consumer.close(autocommit=False)
        except Exception:  # leaving the group is a courtesy; the next join works regardless
            log.warning("closing the consumer failed", exc_info=True)
        self._reader.close()
        self._writer.conn.close()
        self._db.close()
        self._turns.release()

    def __enter__(self) -> Ingester:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self.lake is not None:
            return connect_lake(self.lake, config={"threads": DB_CONFIG["threads"]})
        return duckdb.connect(str(self.db_path), config=DB_CONFIG)

    def _hand_over(self) -> None:
        """Close the warehouse, let the waiting processes take their turn, reopen it.
        Cursors from :meth:`cursor` taken before this are closed with it."""
        log.info("handing %s over to a waiting process", self.db_path)
        self._writer.conn.close()
        self._db.close()
        self._turns.hand_over()
        self._db = self._connect()
        self._writer = WarehouseWriter(self.cursor(), self.group_id)
        log.info("have %s back", self.db_path)

    def _gather(self, polled: dict[TopicPartition, list[Any]]) -> None:
        """Add to ``polled`` what further short polls bring, for a bigger transaction.

        A poll returns what one or two fetches brought (~30 messages of 500 events), and every
        transaction has a fixed cost (log check, offsets upsert, commit). Stops at
        ``gather_records`` records, after ``gather_ms``, at the first empty poll, or when a
        partition's next records do not follow on from
        the ones in hand (it was repositioned). Exactly once is unaffected: the records are
        written in one transaction with the position after each partition's last record,
        and anything read twice is absorbed by event_id.
        """
        count = sum(len(batch) for batch in polled.values())
        deadline = time.monotonic() + self.gather_ms / 1000
        while count < self.gather_records:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                return
            more = self._consumer.poll(timeout_ms=min(50, remaining_ms), max_records=self.gather_records - count)
            if not more:
                return
            contiguous = True
            for tp, batch in more.items():
                have = polled.setdefault(tp, [])
                if have and batch and batch[0].offset != have[-1].offset + 1:
                    contiguous = False
                have.extend(batch)
                count += len(batch)
            if not contiguous:
                return

    def _prepare(self, polled: dict[TopicPartition, list[Any]]) -> PreparedBatch | None:
        """Check each partition's log, and decode, validate and encode its records.

        The log checks (a fetch from the broker each, ~75 ms) run in a helper thread while
        this one decodes; the batch waits for them before it is handed to the writer.
        """
        now = time.monotonic()
        ours = {tp: batch for tp, batch in polled.items() if tp in self._partitions}
        to_check = [(tp, self._partitions[tp].stored) for tp in ours if self._partitions[tp].stored]
        checks = self._checker.submit(self._check_logs, to_check) if to_check else None
        records = [record for batch in ours.values() for record in batch]
        prepared = self._writer.prepare(records) if records else None
        results = checks.result() if checks is not None else {}
        unreachable = {tp for tp, intact in results.items() if intact is None}
        replaced = {tp for tp, intact in results.items() if intact is False}
        for tp in unreachable:
            # cannot verify now: fetch these records again later rather than guess
            log.warning("%s: broker unreachable, will retry this batch", tp)
            self._consumer.seek(tp, ours[tp][0].offset)
        for tp in replaced:
            self._log_replaced(tp, self._partitions[tp])
        for tp in ours.keys() - unreachable:
            self._partitions[tp].last_active = now
        if unreachable:  # rare: prepare again without them
            records = [r for tp, batch in ours.items() if tp not in unreachable for r in batch]
            prepared = self._writer.prepare(records) if records else None
        if prepared is not None and replaced:
            # store the events anyway; the position goes back to 0
            prepared = dataclasses.replace(
                prepared,
                offsets={
                    tp: StoredOffset(0, None) if tp in replaced else position
                    for tp, position in prepared.offsets.items()
                },
            )
        return prepared

    def _check_logs(self, checks: list[tuple[TopicPartition, StoredOffset]]) -> dict[TopicPartition, bool | None]:
        """Whether each partition's log still holds the record before its position (None:
        the broker does not answer). Runs in the helper thread; touches no ingester state."""
        results: dict[TopicPartition, bool | None] = {}
        for tp, stored in checks:
            try:
                results[tp] = self._reader.matches(tp, stored.next_offset - 1, stored.fingerprint)
            except LogUnreachable:
                results[tp] = None
        return results

    def _submit(self, prepared: PreparedBatch) -> None:
        """Hand a batch to the writer thread (nothing may be in flight)."""
        assert self._in_flight is None
        if self.lake is not None:  # the fence: these partitions must still be where we left them
            prepared = dataclasses.replace(prepared, expected={tp: self._committed.get(tp) for tp in prepared.offsets})
        for tp, stored in prepared.offsets.items():
            if tp in self._partitions:  # the position it will have; the next log check uses it
                self._partitions[tp].stored = stored if stored.next_offset > 0 else None
        self._in_flight = (self._committer.submit(self._writer.commit, prepared), prepared)

    def _finish(self, commit_to_kafka: bool = True) -> int:
        """Wait for the batch in flight (if any) to commit; returns the events it wrote.

        If it failed, it is rolled back: the partitions are put back at the positions stored
        in DuckDB (so that nothing polled after it is written past it), and the error raised.
        """
        if self._in_flight is None:
            return 0
        future, prepared = self._in_flight
        try:
            try:
                result = future.result()
            except duckdb.TransactionException as exc:
                if not lake_conflict(exc):
                    raise
                result = self._commit_again(prepared)
        except BaseException:
            self._in_flight = None
            self._reposition()
            raise
        self._in_flight = None
        self._committed.update(result.offsets)
        with self._stats_lock:
            s = self._stats
            self._stats = dataclasses.replace(
                s,
                ingested=s.ingested + result.ingested,
                duplicates=s.duplicates + result.duplicates,
                rejected=s.rejected + result.rejected,
                batches=s.batches + 1,
                last_batch_at=time.time(),
            )
        log.debug(
            "committed batch: %d new, %d duplicates, %d rejected; next offsets %s",
            result.ingested,
            result.duplicates,
            result.rejected,
            " ".join(f"{tp.topic}/{tp.partition}={o.next_offset}" for tp, o in result.offsets.items()),
        )
        if self.commit_to_kafka and commit_to_kafka:
            self._commit_to_kafka(result.offsets)
        return result.ingested

    def _commit_again(self, prepared: PreparedBatch) -> BatchResult:
        """Commit a batch the lake refused because another ingester committed first: in a new
        transaction, which sees the other's rows (so its stored-id look-up leaves out what the
        other just stored) and checks this batch's partitions are still ours (PartitionTaken)."""
        for attempt in range(1, self.conflict_retries + 1):
            with self._stats_lock:
                self._stats = dataclasses.replace(self._stats, conflicts=self._stats.conflicts + 1)
            time.sleep(random.uniform(0.0, min(0.5, 0.02 * attempt)))  # jitter: not in step with the other
            try:
                return self._writer.commit(prepared)
            except duckdb.TransactionException as exc:
                if not lake_conflict(exc) or attempt == self.conflict_retries:
                    raise
            log.debug("batch refused by a concurrent commit (%d), committing it again", attempt)
        raise AssertionError("unreachable")

    def _reposition(self) -> None:
        """After a failed commit: every assigned partition back to its position in DuckDB."""
        for tp, state in self._partitions.items():
            try:
                stored = self._writer.stored_offset(tp)
                self._committed[tp] = stored
                state.stored = stored if stored and stored.next_offset > 0 else None
                if state.stored is None:
                    self._consumer.seek_to_beginning(tp)
                else:
                    self._consumer.seek(tp, state.stored.next_offset)
            except Exception:  # the error that brought us here is the one to raise
                log.warning("%s: could not reposition after a failed batch", tp, exc_info=True)

    def _check_idle_partitions(self) -> None:
        now = time.monotonic()
        for tp, state in list(self._partitions.items()):
            if now - state.last_active < self.idle_check_s:
                continue
            if state.stored is not None:
                try:
                    self._log_intact(tp, state)
                except LogUnreachable:
                    log.warning("%s: broker unreachable, cannot check the log now", tp)
            state.last_active = time.monotonic()

    def _log_intact(self, tp: TopicPartition, state: _PartitionState) -> bool:
        """Check the record before the stored position; on a mismatch seek to the start."""
        assert state.stored is not None
        if self._reader.matches(tp, state.stored.next_offset - 1, state.stored.fingerprint):
            return True
        self._log_replaced(tp, state)
        return False

    def _log_replaced(self, tp: TopicPartition, state: _PartitionState) -> None:
        """The log no longer holds the record before the position: read it from the start."""
        assert state.stored is not None
        log.warning(
            "%s: the log no longer holds the record before offset %d (topic recreated?);"
            " reading it again from the beginning",
            tp,
            state.stored.next_offset,
        )
        state.stored = None
        self._consumer.seek_to_beginning(tp)
        with self._stats_lock:
            self._stats = dataclasses.replace(self._stats, log_resets=self._stats.log_resets + 1)

    def _follow_partitions(self) -> int:
        """Every ``metadata_refresh_s``: read every partition the topic has now (returns the
        events of the batch in flight, committed first when the partitions change)."""
        now = time.monotonic()
        if now < self._next_partition_check:
            return 0
        self._next_partition_check = now + self.metadata_refresh_s
        topic = self.settings.topic
        # cached metadata, refreshed every metadata_refresh_s (metadata_max_age_ms)
        known = self._consumer.partitions_for_topic(topic)
        if not known:  # unknown or not yet created: keep what is read (a broker may be away)
            return 0
        wanted = {TopicPartition(topic, partition) for partition in known if self.share.owns(partition)}
        if wanted == set(self._partitions):
            return 0
        written = self._finish(commit_to_kafka=False)  # positions must be the committed ones
        gone = set(self._partitions) - wanted
        for tp in gone:
            self._partitions.pop(tp, None)
            self._committed.pop(tp, None)
        self._consumer.assign(sorted(wanted, key=lambda tp: tp.partition))
        log.info("%s: reading partitions %s", topic, sorted(tp.partition for tp in wanted))
        self._on_assigned(wanted - set(self._partitions))
        return written

    def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Position newly read partitions at their stored offsets (nothing may be in flight)."""
        for tp in assigned:
            if self.lake is not None:  # a row to rewrite (and so to conflict on) from the first batch on
                stored: StoredOffset | None = self._writer.claim_position(tp)
            else:
                stored = self._writer.stored_offset(tp)
            self._committed[tp] = stored
            state = _PartitionState(stored if stored and stored.next_offset > 0 else None)
            self._partitions[tp] = state
            if state.stored is None:
                log.info("%s: nothing stored, reading from the beginning", tp)
                self._consumer.seek_to_beginning(tp)
                continue
            try:
                intact = self._log_intact(tp, state)
            except LogUnreachable:
                intact = True  # every batch is checked again before it is written
            if intact:
                log.info("%s: resuming at stored offset %d", tp, state.stored.next_offset)
                self._consumer.seek(tp, state.stored.next_offset)

    def _commit_to_kafka(self, offsets: dict[TopicPartition, StoredOffset]) -> None:
        try:
            self._consumer.commit_async(
                {tp: OffsetAndMetadata(s.next_offset, "", -1) for tp, s in offsets.items()},
                callback=_log_commit_failure,
            )
        except Exception:  # only lag monitoring depends on it
            log.debug("commit to Kafka failed", exc_info=True)


def _log_commit_failure(offsets: object, response: object) -> None:
    if isinstance(response, Exception):
        log.debug("commit to Kafka failed: %s", response)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autoscope.warehouse.ingester",
        description="Ingest the events topic into a DuckDB warehouse until SIGTERM/SIGINT.",
    )
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers, host:port[,…]")
    parser.add_argument("--topic", default=DEFAULT_TOPIC, help="events topic (default: %(default)s)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, help="the warehouse DuckDB file")
    where.add_argument("--lake-catalog", help="a DuckLake warehouse: its catalog, postgres:<libpq DSN> or a file")
    parser.add_argument("--lake-data", help="the lake's data files: a folder or an s3:// prefix (with --lake-catalog)")
    parser.add_argument(
        "--share",
        type=PartitionShare.parse,
        default=PartitionShare(),
        help="INDEX/COUNT: this is ingester INDEX (from 0) of COUNT over one lake; it reads the partitions"
        " p %% COUNT == INDEX (default: 0/1, all)",
    )
    parser.add_argument(
        "--group", default=None, help="consumer group (default: $AUTOSCOPE_KAFKA_GROUP or autoscope-warehouse)"
    )
    parser.add_argument(
        "--max-records", type=int, default=2000, help="most messages per transaction (default: %(default)s)"
    )
    parser.add_argument(
        "--session-timeout-ms",
        type=int,
        default=None,
        help="consumer-group session timeout (default: the settings' 6000); heartbeats every third",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG logs every committed batch")
    args = parser.parse_args(argv)
    if args.lake_catalog and not args.lake_data:
        parser.error("--lake-catalog needs --lake-data (where the lake's data files are)")
    warehouse: Path | LakeLocation = LakeLocation(args.lake_catalog, args.lake_data) if args.lake_catalog else args.db
    level = logging.getLevelName(args.log_level.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(max(level, logging.WARNING))
    overrides: dict[str, Any] = {"topic": args.topic}
    if args.session_timeout_ms:
        overrides["session_timeout_ms"] = args.session_timeout_ms
        overrides["heartbeat_interval_ms"] = max(args.session_timeout_ms // 3, 100)
    settings = KafkaSettings.from_env(args.bootstrap, **overrides)
    assert settings is not None  # a bootstrap was given

    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        log.info("signal %d: stopping after the current batch", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        with Ingester(settings, warehouse, args.group, max_records=args.max_records, share=args.share) as ingester:
            log.info(
                "ingesting %s (share %s) into %s as group %s", settings.topic, args.share, ingester.where, args.group
            )
            stats = ingester.run(stop)
    except PartitionTaken as exc:
        log.error("stopped: %s", exc)
        return 3
    log.info("stopped: %s", stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
