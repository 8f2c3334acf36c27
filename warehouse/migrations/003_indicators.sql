-- Indicator results, long format: one row per (indicator, metric, period, cut, cut value).
-- A suppressed cell (fewer than k distinct actors) is kept with value, n_events and
-- n_actors NULL and suppressed = true: shown as suppressed, never dropped.
CREATE TABLE indicator_values (
    indicator   VARCHAR NOT NULL,
    metric      VARCHAR NOT NULL,
    period_type VARCHAR NOT NULL,   -- week | month | quarter
    period      VARCHAR NOT NULL,   -- 2026-W07 | 2026-02 | 2026-Q1
    cut         VARCHAR NOT NULL,   -- lab | team | rung | category
    cut_value   VARCHAR NOT NULL,   -- 'all' for the lab-wide cut
    value       DOUBLE,
    n_events    BIGINT,
    n_actors    BIGINT,
    suppressed  BOOLEAN NOT NULL,
    k           INTEGER NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (indicator, metric, period_type, period, cut, cut_value)
);
