-- Audit log of releases (issue 7): one row per export attempt, refused ones included, so
-- compliance can answer "who took what out of the warehouse, when, with which token".
-- Rows are only ever inserted (pipelines/audit.py); nothing updates or deletes them.
CREATE TABLE audit_log (
    audit_id        VARCHAR PRIMARY KEY,   -- random, also written into the export's manifest
    occurred_at     TIMESTAMP NOT NULL,    -- UTC
    action          VARCHAR NOT NULL,      -- export
    outcome         VARCHAR NOT NULL,      -- ok | refused
    who             VARCHAR NOT NULL,      -- the token's name, or local:<os user> without tokens
    token_id        VARCHAR,               -- the token's id (never the token), NULL without tokens
    period          VARCHAR,               -- e.g. 2026-Q3
    format          VARCHAR,               -- parquet | csv | json
    tables          VARCHAR[],             -- tables asked for
    out_dir         VARCHAR,               -- where the files were written
    files           INTEGER,               -- files written
    rows_exported   BIGINT,                -- rows over all files
    manifest_sha256 VARCHAR,               -- SHA-256 of the manifest.json written
    detail          VARCHAR                -- why it was refused, or a note
);
