"""Which Kafka partition an event goes to: every copy of an event to the same one.

Why. With several ingesters, each partition has exactly one writer at a time, and a writer
stores an event only if no earlier copy of its ``event_id`` is in the warehouse (an anti-join:
DuckLake has no UNIQUE constraint). A writer sees every copy committed before its transaction
began, but not one another writer commits at the same moment (snapshot isolation; verified in
tests/warehouse/test_lake_fencing.py). Copies of an event arise when the collector's forwarder
sends a spool record again (Kafka failed, the collector restarted) or a client re-sends a batch
that got no answer, possibly to another collector. Sent without a key, a copy could land on
another partition and so with another writer, at the same moment as the first: stored twice.
Sent to the partition its ``event_id`` picks, every copy reaches the same single writer, whose
transactions are serial, so the later copy always sees the earlier one.

How. A spool record (one Kafka message) holds up to 500 events, so the key cannot be one
event's id. Events are grouped into :data:`KEY_BUCKETS` buckets by a stable hash of their
``event_id`` (:func:`bucket_of`); a spool record holds events of one bucket only
(:func:`autoscope.collector.intake.spool_records`); the forwarder reads the bucket back from
the record's first event (:func:`record_bucket`), sends the record with that bucket as its key,
and to partition ``bucket % partitions``. The same bucket → the same partition, for as long as
the topic's partition count does not change (a copy sent on each side of a change can reach two
writers; it is stored twice only if both commit at the same moment).

Why an explicit partition rather than Kafka's key hash (murmur2): 12 keys over 4 partitions
by murmur2 are uneven, and the ingesters' load is the partitions' load. 12 divides evenly by 1,
2, 3, 4, 6 and 12 partitions; a topic with more partitions than buckets leaves the extra ones
empty (docs/deployment.md sizes partitions ≤ :data:`KEY_BUCKETS`).
"""

from __future__ import annotations

import zlib

#: how many buckets events are grouped in; also the most partitions that get events
KEY_BUCKETS = 12

_EVENT_ID = b'"event_id":"'


def bucket_of(event_id: str) -> int:
    """The bucket of an event id: CRC-32 of its UTF-8 bytes, modulo :data:`KEY_BUCKETS` (stable
    across processes and Python versions, unlike ``hash()``)."""
    return zlib.crc32(event_id.encode()) % KEY_BUCKETS


def record_bucket(payload: bytes) -> int | None:
    """The bucket of a spool record (a JSON array of events of one bucket): its first event's.

    The contract puts ``event_id`` first among an event's fields after the ``type`` tag
    (core/contract.py, ``ENVELOPE``), so the first ``"event_id":"`` in the payload is the first
    event's, and an event id (a UUID or ULID) has no character JSON escapes. None when the
    payload holds no event id (not a record the collector wrote).
    """
    start = payload.find(_EVENT_ID)
    if start < 0:
        return None
    start += len(_EVENT_ID)
    end = payload.find(b'"', start)
    if end < 0:
        return None
    return zlib.crc32(payload[start:end]) % KEY_BUCKETS


def partition_of(bucket: int, partitions: int) -> int:
    """The partition a bucket's records go to on a topic of ``partitions`` partitions."""
    return bucket % partitions
