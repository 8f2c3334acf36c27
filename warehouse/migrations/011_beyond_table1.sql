-- Contract revision 6 (issue 16, "Beyond Table 1"): the events behind the indicators that the
-- GovAI metrics and the labs' own disclosures ask for (docs/indicators.md). Additive: older
-- events stay valid. A review says whether a person or an AI did it (NULL = a person, as every
-- review before this revision was).
ALTER TABLE reviews ADD COLUMN reviewer_kind VARCHAR;

-- An error that escaped review, found after the work was accepted.
CREATE TABLE incidents (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    incident_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, severity VARCHAR NOT NULL,
    found_by VARCHAR, introduced_by_task VARCHAR, introduced_by_commit VARCHAR
);

-- A scope granted to or revoked from an agent, acting for `actor`.
CREATE TABLE permissions (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    agent VARCHAR NOT NULL, scope VARCHAR NOT NULL, action VARCHAR NOT NULL,
    granted_by VARCHAR NOT NULL, oversight VARCHAR, mode VARCHAR, session_id VARCHAR
);

-- Minutes of a researcher's time by activity and where the figure came from.
CREATE TABLE time_allocations (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    activity VARCHAR NOT NULL, minutes DOUBLE NOT NULL, origin VARCHAR NOT NULL
);

-- A merged commit's added lines still present at as_of.
CREATE TABLE line_survival (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    contribution_id VARCHAR NOT NULL, as_of TIMESTAMP NOT NULL, lines_surviving BIGINT NOT NULL
);

-- The team classes (issue 16, item 7) the stored indicator release was computed with: team →
-- class; a team not listed is `unclassified`; empty: no class cut. Written by the indicator job
-- together with indicator_values, listed in the export manifest.
CREATE TABLE team_classes (
    team VARCHAR PRIMARY KEY, team_class VARCHAR NOT NULL
);
