-- Events, one table per type. Each row repeats the envelope (occurred_at, actor, team, tool)
-- so indicator queries never join; `event_ids` is the single place that makes an event_id
-- unique across all types and records where in Kafka each event came from.
-- Times are TIMESTAMP holding UTC (the collector normalizes every time to UTC).

CREATE TABLE event_ids (
    event_id        VARCHAR PRIMARY KEY,
    type            VARCHAR NOT NULL,
    ingested_at     TIMESTAMP NOT NULL,
    kafka_topic     VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset    BIGINT NOT NULL
);

-- Consumed position per partition, written in the same transaction as the events it covers.
-- last_fingerprint identifies the record at next_offset - 1, so a restarted ingester can tell
-- that a topic was recreated (the embedded broker keeps nothing across restarts).
CREATE TABLE kafka_offsets (
    consumer_group    VARCHAR NOT NULL,
    topic             VARCHAR NOT NULL,
    kafka_partition   INTEGER NOT NULL,
    next_offset       BIGINT NOT NULL,
    last_fingerprint  VARCHAR,
    updated_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (consumer_group, topic, kafka_partition)
);

CREATE TABLE tasks (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    task_id VARCHAR NOT NULL, family VARCHAR NOT NULL, executor VARCHAR NOT NULL,
    autonomy VARCHAR NOT NULL, category VARCHAR NOT NULL, role VARCHAR NOT NULL,
    rung VARCHAR NOT NULL, human_minutes DOUBLE NOT NULL, duration_s DOUBLE NOT NULL,
    outcome VARCHAR NOT NULL, model VARCHAR
);

CREATE TABLE reviews (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    task_id VARCHAR NOT NULL, reviewer VARCHAR NOT NULL, action VARCHAR NOT NULL,
    minutes DOUBLE NOT NULL
);

CREATE TABLE experiments (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    experiment_id VARCHAR NOT NULL, designed_by VARCHAR NOT NULL,
    accelerator_hours DOUBLE NOT NULL, accelerator_type VARCHAR NOT NULL,
    purpose VARCHAR NOT NULL, flops DOUBLE
);

CREATE TABLE contributions (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    contribution_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, first_author VARCHAR NOT NULL,
    ai_share DOUBLE NOT NULL
);

CREATE TABLE model_deployments (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL, internal_at TIMESTAMP NOT NULL, public_at TIMESTAMP
);

CREATE TABLE training_milestones (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL, recipe VARCHAR NOT NULL, target_loss DOUBLE NOT NULL,
    compute_to_target DOUBLE NOT NULL, baseline_run_id VARCHAR
);

CREATE TABLE impressions (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    question_id VARCHAR NOT NULL, score INTEGER NOT NULL, tags VARCHAR[] NOT NULL
);

CREATE TABLE spend (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    category VARCHAR NOT NULL, amount_usd DOUBLE NOT NULL, model VARCHAR,
    input_tokens BIGINT, output_tokens BIGINT
);
