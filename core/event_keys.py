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
event's id. Events are grouped into as many buckets as the topic has partitions (the collector's
configured ``partitions``, ``AUTOSCOPE_KAFKA_PARTITIONS``) by a stable hash of their ``event_id``
(:func:`bucket_of`); a spool record holds events of one bucket only
(:func:`autoscope.collector.intake.spool_records`); the forwarder reads the bucket back from the
record's first event against the topic's actual partition count (:func:`record_bucket`), sends
the record with that bucket as its key, and to that partition. The same event → the same
partition, for as long as the topic's partition count does not change and matches the
configuration (a copy sent on each side of a change can reach two writers; it is stored twice
only if both commit at the same moment).

Why as many buckets as partitions, not a fixed number: each bucket is a spool record and a Kafka
message of its own, so a request of n events becomes up to ``min(n, buckets)`` records. A fixed
12 split every 500-event request into 12 small records and messages even on one partition (the
embedded default), where keying changes nothing: one partition has one writer. With one
partition a request stays one record, as before keying.
Why an explicit partition rather than Kafka's key hash (murmur2): murmur2 over a handful of keys
is uneven, and the ingesters' load is the partitions' load.
"""

from __future__ import annotations

import zlib

_EVENT_ID = b'"event_id":"'


def bucket_of(event_id: str, buckets: int) -> int:
    """The bucket of an event id among ``buckets``: CRC-32 of its UTF-8 bytes, modulo ``buckets``
    (stable across processes and Python versions, unlike ``hash()``)."""
    return zlib.crc32(event_id.encode()) % buckets


def record_bucket(payload: bytes, buckets: int) -> int | None:
    """The bucket among ``buckets`` of a spool record (a JSON array of events of one bucket): its
    first event's.

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
    return zlib.crc32(payload[start:end]) % buckets
