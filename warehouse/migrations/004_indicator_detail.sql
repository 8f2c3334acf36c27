-- Issue 6: what every indicator row needs beyond a value, and the job's own state.
--   ci_low, ci_high: a 95 % interval where the indicator has one (time horizon, doubling time);
--   noise_scale: the Laplace scale b added to the row's parts under differential privacy (NULL: no noise);
--   note: plain words when a number would mislead ("not meaningful: one outcome only",
--         "lower bound: 2 models not yet public", "suppressed: complementary").
ALTER TABLE indicator_values ADD COLUMN ci_low DOUBLE;
ALTER TABLE indicator_values ADD COLUMN ci_high DOUBLE;
ALTER TABLE indicator_values ADD COLUMN noise_scale DOUBLE;
ALTER TABLE indicator_values ADD COLUMN note VARCHAR;

-- Incremental runs: per (period type, period), the newest event_ids.ingested_at the stored cells
-- include. A run recomputes the periods that received events ingested after the newest mark.
CREATE TABLE indicator_periods (
    period_type       VARCHAR NOT NULL,
    period            VARCHAR NOT NULL,
    ingested_through  TIMESTAMP,
    k                 INTEGER NOT NULL,
    epsilon           DOUBLE,
    computed_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (period_type, period)
);

-- The 50 % horizon of every bootstrap replicate of every time-horizon fit (NULL: replicate
-- skipped, all outcomes alike), so the doubling time across periods gets its interval without
-- refitting periods that did not change.
CREATE TABLE time_horizon_replicates (
    period_type  VARCHAR NOT NULL,
    period       VARCHAR NOT NULL,
    cut          VARCHAR NOT NULL,
    cut_value    VARCHAR NOT NULL,
    log2_h50     DOUBLE[] NOT NULL,
    PRIMARY KEY (period_type, period, cut, cut_value)
);

-- Differential privacy: every noisy release spends epsilon on the events of its period; a
-- release whose spend would take any overlapping period past the budget is refused.
CREATE TABLE dp_ledger (
    release_id    VARCHAR NOT NULL,
    released_at   TIMESTAMP NOT NULL,
    period_type   VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    period_start  TIMESTAMP NOT NULL,
    period_end    TIMESTAMP NOT NULL,
    epsilon       DOUBLE NOT NULL,
    budget        DOUBLE NOT NULL,
    indicators    VARCHAR NOT NULL
);
