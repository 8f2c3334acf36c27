"""Recognizing a Kafka log again: a record's fingerprint, and reading one record back.

The warehouse stores, per partition, the next offset to consume and the fingerprint of the
record just before it. If the record at ``next_offset - 1`` is missing or has another
fingerprint, the log is not the one the warehouse consumed: the topic was recreated (the
embedded broker keeps nothing across restarts), and consuming must start over from the
beginning. Neither end offsets nor OffsetOutOfRange can be relied on for this (a broker may
report end offsets per producer batch and answer a fetch past the end with nothing), so the
check reads the record itself, with a group-less consumer that never disturbs the group.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, Protocol

from kafka import KafkaConsumer, TopicPartition

from autoscope.core.kafka_settings import KafkaSettings

log = logging.getLogger(__name__)


class KafkaRecord(Protocol):
    """What the warehouse needs of a consumed record (kafka-python's ConsumerRecord fits)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    value: bytes | None


def fingerprint(record: KafkaRecord) -> str:
    """sha1 of the record's value and timestamp, hex: tells one log's record from another's."""
    digest = hashlib.sha1(str(record.timestamp).encode("ascii"))
    digest.update(b"\0")
    digest.update(record.value or b"")
    return digest.hexdigest()


class LogUnreachable(RuntimeError):
    """The broker did not answer, so whether a record exists cannot be told."""


class RecordReader:
    """Reads single records by offset with its own group-less consumer (assign + seek).

    Parameters:
        settings: where Kafka is.
        timeout_s: how long to wait for a record before calling it missing. A fetch past the
            end of a log may just return nothing, so "missing" is decided by this timeout.
    """

    def __init__(self, settings: KafkaSettings, timeout_s: float = 2.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self._consumer: KafkaConsumer | None = None

    def _client(self) -> KafkaConsumer:
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                **self.settings.client_kwargs(),
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=100,
                max_partition_fetch_bytes=1 << 20,
            )
        return self._consumer

    def read(self, tp: TopicPartition, offset: int) -> Any | None:
        """The record at ``offset`` of ``tp``, or None when the log has no such record.

        Raises :class:`LogUnreachable` when no record came and the broker does not answer a
        request for the partition's start offset either: an outage is not a missing record.
        """
        try:
            consumer = self._client()
            if consumer.assignment() != {tp}:
                consumer.assign([tp])
            consumer.seek(tp, offset)
            deadline = time.monotonic() + self.timeout_s
            while True:
                remaining_ms = int((deadline - time.monotonic()) * 1000)
                if remaining_ms <= 0:
                    self._check_reachable(consumer, tp)
                    return None
                for record in consumer.poll(timeout_ms=remaining_ms, max_records=1).get(tp, []):
                    # a broker that resets an out-of-range fetch to the start answers with
                    # another offset: that is "missing" too
                    return record if record.offset == offset else None
        except LogUnreachable:
            raise
        except Exception:
            # a broken client must not leave a half-assigned consumer behind for the next read
            self.close()
            raise

    def _check_reachable(self, consumer: KafkaConsumer, tp: TopicPartition) -> None:
        try:
            consumer.beginning_offsets([tp], timeout_ms=int(self.timeout_s * 1000))
        except Exception as exc:
            raise LogUnreachable(f"{tp}: the broker does not answer ({exc})") from exc

    def matches(self, tp: TopicPartition, offset: int, expected: str | None) -> bool:
        """Whether the record at ``offset`` exists and has the fingerprint ``expected``.

        Raises :class:`LogUnreachable` when that cannot be told.
        """
        record = self.read(tp, offset)
        if record is None:
            log.info("%s: no record at offset %d", tp, offset)
            return False
        if expected is not None and fingerprint(record) != expected:
            log.info("%s: record at offset %d has another fingerprint", tp, offset)
            return False
        return True

    def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.close(autocommit=False)
