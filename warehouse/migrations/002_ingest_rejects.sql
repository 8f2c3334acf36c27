-- Kafka messages the ingester could not decode as a batch of v1 events. They are recorded
-- here, in the same transaction as the offsets that move past them, so nothing is skipped
-- silently and a bad message never stalls a partition. The value itself is not copied (it
-- may hold anything); its fingerprint and size identify it in Kafka while retention lasts.
CREATE TABLE ingest_rejects (
    kafka_topic       VARCHAR NOT NULL,
    kafka_partition   INTEGER NOT NULL,
    kafka_offset      BIGINT NOT NULL,
    fingerprint       VARCHAR NOT NULL,
    value_bytes       BIGINT NOT NULL,
    reason            VARCHAR NOT NULL,
    rejected_at       TIMESTAMP NOT NULL
);
