"""Drain the spool to Kafka with ``acks="all"``; delete a segment once all of it is acknowledged.

One background thread reads records in spool order and produces each as one Kafka message.
Acknowledgements arrive on the producer's I/O thread and are counted per segment. A segment
is deleted when it is sealed, read to its end and has no unacknowledged record.

Each record goes to the partition its events' key bucket picks (:mod:`autoscope.core.event_keys`),
so that a record sent again lands where its first copy did, with the same ingester.

When Kafka fails (down, timing out, refusing), the forwarder backs off and starts over from
the oldest segment still on disk. Records Kafka already had are then sent again: harmless,
because the warehouse keeps each event_id once. Nothing accepted is ever skipped.

A broker that keeps nothing across a restart (the embedded one) can lose records it
acknowledged before the warehouse read them. Given ``consumed`` (where the warehouse's
ingester has read each partition to, and when that was measured), the forwarder keeps an
acknowledged segment on disk until a measurement taken after the segment's last
acknowledgement shows every one of its records consumed; a segment still waiting when Kafka
fails (a broker going away fails the records in flight) is sent again with the others.
Not covered: a broker that restarts empty between two sends without failing any, while a
segment waits; the segment then stays on disk (nothing is lost) and is sent again at the next
Kafka failure or start (end offsets cannot tell it reliably: Tansu reports them per producer
batch, see :mod:`autoscope.warehouse.log_identity`). ``autoscope up`` passes
it with the embedded broker only: a lab's replicated Kafka is durable on acknowledgement, and
is the buffer while an ingester is away (holding segments until consumed would fill the spool
instead).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from autoscope.collector.sinks.spool import Spool, read_records
from autoscope.core.event_keys import record_bucket
from autoscope.core.kafka_settings import KafkaSettings, ensure_topic


class Forwarder:
    """Background spool → Kafka forwarding.

    Parameters:
        spool: the collector's spool.
        settings: where Kafka is; the topic must exist.
        seal_after_s: an active segment that is fully acknowledged and this old is sealed, so
            it can be deleted (bounds how long forwarded data stays on disk).
        backoff_s: wait after a Kafka failure before starting over.
        delivery_timeout_s: a record neither acknowledged nor failed within this is failed.
        consumed: when given, an acknowledged segment is deleted only once the warehouse has
            consumed it: returns ``({partition: next offset the ingester reads}, time.time() of
            that measurement)`` (see the module's docstring).
    """

    def __init__(
        self,
        spool: Spool,
        settings: KafkaSettings,
        seal_after_s: float = 1.0,
        backoff_s: float = 1.0,
        delivery_timeout_s: float = 30.0,
        consumed: Callable[[], tuple[dict[int, int], float | None]] | None = None,
    ) -> None:
        self.spool = spool
        self.settings = settings
        self.seal_after_s = seal_after_s
        self.backoff_s = backoff_s
        self.delivery_timeout_s = delivery_timeout_s
        self.consumed = consumed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autoscope-forwarder", daemon=True)
        self._lock = threading.Lock()
        self._pending: Counter[int] = Counter()  # segment → records sent, not yet acknowledged
        #: segment → {partition: highest acknowledged offset}, and time.time() of its last ack
        self._acked: dict[int, tuple[dict[int, int], float]] = {}
        #: acknowledged segments kept until the warehouse has consumed them (``consumed``)
        self._awaiting: list[int] = []
        self._epoch = 0  # bumped on each start-over; late callbacks of an old epoch are ignored
        self._failed: Exception | None = None
        self._producer: Any = None
        self._retiring: list[Any] = []  # failed producers that could not close yet (_close_retiring)
        self._caught_up = False  # read to the end of the active segment, all acknowledged
        self.forwarded_records = 0
        self.kafka_errors = 0
        self.last_error: str | None = None

    def start(self) -> Forwarder:
        self._thread.start()
        return self

    def drained(self) -> bool:
        """Everything accepted so far is acknowledged by Kafka (the spool holds nothing unsent;
        segments kept until the warehouse consumes them are sent)."""
        return self.spool.total_bytes == 0 or (
            len(self.spool.segments()) - len(self._awaiting) == 1 and self.backlog_records == 0 and self._caught_up
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop, first giving the spool up to ``timeout_s`` to drain to Kafka.

        Whatever is not acknowledged by then stays in the spool and is sent on the next start.
        """
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive() and not self.drained() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        with self.spool.appended:
            self.spool.appended.notify_all()
        self._thread.join(timeout_s + 5)
        if self._producer is not None:
            try:
                self._producer.close(timeout=timeout_s)
            except Exception:  # noqa: BLE001 - closing a broken producer must not fail shutdown
                pass
        self._close_retiring()

    @property
    def backlog_records(self) -> int:
        with self._lock:
            return sum(self._pending.values())

    # -- the forwarding loop ----------------------------------------------------------

    def _make_producer(self) -> Any:
        from kafka import KafkaProducer

        # a broker that lost its state (the embedded one keeps nothing across restarts) gets
        # its topic back before anything is produced to it
        ensure_topic(self.settings)
        return KafkaProducer(
            **self.settings.client_kwargs(),
            acks="all",
            linger_ms=5,
            # spool records are ~100-300 KB (500 events); the default 16 KB batch gives each
            # its own produce request. 1 MB lets a few share one request and one ack.
            batch_size=1024 * 1024,
            max_request_size=16 * 1024 * 1024,
            request_timeout_ms=int(min(10.0, self.delivery_timeout_s / 3) * 1000),  # must be below delivery's
            # a send that is neither acknowledged nor failed within this is failed, so a broker
            # that went away is noticed (and the spool started over) in seconds, not minutes
            delivery_timeout_ms=int(self.delivery_timeout_s * 1000),
            max_block_ms=5_000,
            retries=3,
            # At least once, not idempotent: the warehouse keeps each event_id once, so a
            # re-sent record costs nothing. An idempotent producer (kafka-python's default since
            # 3.0) must re-initialize its producer id when a broker loses its state; against the
            # embedded broker after a restart that failed, and the records re-sent after it were
            # acknowledged without being written (found by tests/faults/test_broker_outage.py).
            enable_idempotence=False,
        )

    def _send(self, payload: bytes) -> Any:
        """Produce one spool record, keyed by its events' bucket among the topic's partitions and
        sent to that partition, so every copy of an event reaches the same partition and so the
        same single ingester (:mod:`autoscope.core.event_keys`)."""
        partitions = self._producer.partitions_for(self.settings.topic)  # cached metadata
        bucket = record_bucket(payload, len(partitions)) if partitions else None
        if bucket is None:  # not a record of events (none is written so), or no metadata: Kafka picks
            return self._producer.send(self.settings.topic, payload)
        return self._producer.send(self.settings.topic, payload, key=str(bucket).encode(), partition=bucket)

    def _on_ack(self, epoch: int, segment: int) -> Any:
        def ack(metadata: Any) -> None:
            with self._lock:
                if epoch == self._epoch:
                    self._pending[segment] -= 1
                    self.forwarded_records += 1
                    if self.consumed is not None:
                        highest, _ = self._acked.get(segment, ({}, 0.0))
                        highest[metadata.partition] = max(highest.get(metadata.partition, -1), metadata.offset)
                        self._acked[segment] = (highest, time.time())

        return ack

    def _on_error(self, epoch: int) -> Any:
        def fail(exc: Exception) -> None:
            with self._lock:
                if epoch == self._epoch and self._failed is None:
                    self._failed = exc

        return fail

    def _start_over(self, error: Exception) -> None:
        self.kafka_errors += 1
        self.last_error = f"{type(error).__name__}: {error}"
        with self._lock:
            self._epoch += 1
            self._pending.clear()
            self._acked.clear()
            self._failed = None
        self._awaiting.clear()  # still on disk: sent again from the oldest segment
        if self._producer is not None:
            self._retiring.append(self._producer)
            self._producer = None
        self._close_retiring()
        self._stop.wait(self.backoff_s)

    def _close_retiring(self) -> None:
        """Close the producers that failed. kafka-python's ``close()`` raises while any record
        of the producer is still pending, before it stops the producer's network thread, and a
        pending record fails only after ``delivery_timeout_s``; a producer that cannot close
        yet is kept and tried again (at each start-over, and while forwarding), so none keeps
        its thread (and its reconnecting) for the life of the process."""
        still_pending = []
        for producer in self._retiring:
            try:
                producer.close(timeout=0)
            except Exception:  # noqa: BLE001 - records still pending: try again later
                still_pending.append(producer)
        self._retiring = still_pending

    def _delete(self, sequence: int) -> None:
        self.spool.delete(sequence)
        with self._lock:
            self._pending.pop(sequence, None)
            self._acked.pop(sequence, None)

    def _delete_consumed(self) -> None:
        """Delete the awaiting segments the warehouse has consumed (a measurement taken after
        the segment's last acknowledgement, so that it describes the log that acknowledged)."""
        assert self.consumed is not None
        positions, measured_at = self.consumed()
        if measured_at is None:
            return
        for sequence in list(self._awaiting):
            with self._lock:
                highest, last_ack = self._acked.get(sequence, ({}, 0.0))
            if measured_at <= last_ack:
                continue
            if all(positions.get(partition, -1) > offset for partition, offset in highest.items()):
                self._awaiting.remove(sequence)
                self._delete(sequence)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._forward_all()
            except Exception as exc:  # noqa: BLE001 - any Kafka failure: back off, start over
                self._start_over(exc)

    def _forward_all(self) -> None:
        """Forward from the oldest segment on; returns only on stop, raises on Kafka failure."""
        if self._producer is None:
            self._producer = self._make_producer()
        with self._lock:
            epoch = self._epoch
        segments = self.spool.segments()
        sequence = segments[0] if segments else self.spool.active_sequence
        position = 0
        fully_acked_since: float | None = None
        while not self._stop.is_set():
            with self._lock:
                if self._failed is not None:
                    raise self._failed
            if self._retiring:
                self._close_retiring()
            if self._awaiting:
                self._delete_consumed()
            # active before size: once a segment is seen sealed, its size is final
            active = self.spool.active_sequence
            size = self.spool.size_of(sequence)
            if position < size:
                self._caught_up = False
                # position advances with each record read: where the next pass resumes
                for position, payload in read_records(self.spool.path_of(sequence), position):  # noqa: B020
                    with self._lock:
                        self._pending[sequence] += 1
                    future = self._send(payload)
                    future.add_callback(self._on_ack(epoch, sequence))
                    future.add_errback(self._on_error(epoch))
                    if position >= size:
                        break
                fully_acked_since = None
                continue
            if sequence != active:
                # read to its end and sealed: delete it once every record is acknowledged
                self._producer.flush(timeout=10)
                with self._lock:
                    if self._failed is not None:
                        raise self._failed
                    done = self._pending[sequence] <= 0
                if not done:
                    raise TimeoutError(f"Kafka did not acknowledge segment {sequence} in time")
                if self.consumed is None:
                    self._delete(sequence)
                else:
                    self._awaiting.append(sequence)
                later = [s for s in self.spool.segments() if s > sequence]
                sequence, position = (later[0] if later else self.spool.active_sequence), 0
                continue
            # caught up with the active segment: seal it once it is all acknowledged and idle
            with self._lock:
                acked = self._pending[sequence] <= 0
            self._caught_up = acked
            if size and acked:
                fully_acked_since = fully_acked_since or time.monotonic()
                if time.monotonic() - fully_acked_since >= self.seal_after_s:
                    self.spool.seal_active()
                    continue
            with self.spool.appended:
                if self.spool.size_of(sequence) == position and not self._stop.is_set():
                    self.spool.appended.wait(0.1 if size else 1.0)
