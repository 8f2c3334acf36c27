-- Coding agents' prompt turns (issue 12). Claude Code, Gemini CLI and Codex CLI report a prompt,
-- then each model call and tool call when it ends, spread over many exports and collectors: the
-- collector maps each record to one fact, and a turn is assembled here, from all its facts, so
-- that neither export order nor a collector restart loses or shortens a turn.
-- Reviews now say who let the work through (person / rule / never_asked; NULL = a person, as
-- every review before this revision was); spend says when its USD was priced from tokens with
-- the lab's price table rather than reported by the client.
ALTER TABLE reviews ADD COLUMN oversight VARCHAR;
ALTER TABLE spend ADD COLUMN priced BOOLEAN;

CREATE TABLE agent_turn_facts (
    event_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, actor VARCHAR NOT NULL,
    team VARCHAR NOT NULL, tool VARCHAR NOT NULL, tool_version VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL, turn_id VARCHAR, kind VARCHAR NOT NULL, model VARCHAR,
    duration_s DOUBLE, lines_added BIGINT, lines_removed BIGINT, autonomy VARCHAR,
    category VARCHAR, role VARCHAR, rung VARCHAR, human_minutes DOUBLE, size_source VARCHAR
);

-- One row per turn (a prompt or a slash command and every fact of its session up to the next
-- one). A fact names its turn (turn_id) or, when the client's record names none (Codex), belongs
-- to the latest prompt of its session at or before it. Wall time: from the prompt to the last
-- record of the turn (line counts are reported by metrics on the export's clock, so they add
-- lines, not time); model time: the sum of its model calls' durations.
-- agent_turns_in(sessions): the turns of those sessions only (NULL: all), so that the ingester
-- re-derives a batch's sessions without reading every fact the warehouse holds.
CREATE MACRO agent_turns_in(sessions) AS TABLE
WITH facts AS (
    SELECT * FROM agent_turn_facts WHERE sessions IS NULL OR list_contains(sessions, session_id)
), prompts AS (
    SELECT * FROM facts WHERE kind IN ('prompt', 'slash_command')
), assigned AS (
    SELECT f.*, coalesce(f.turn_id, p.turn_id) AS turn
    FROM facts f ASOF LEFT JOIN prompts p
      ON f.session_id = p.session_id AND f.occurred_at >= p.occurred_at
), per_turn AS (
    SELECT turn,
           max(occurred_at) FILTER (WHERE kind <> 'lines') AS last_at,
           count(*) FILTER (WHERE kind = 'model_call') AS model_calls,
           coalesce(sum(duration_s) FILTER (WHERE kind = 'model_call'), 0) AS model_s,
           arg_min(model, occurred_at) FILTER (WHERE kind = 'model_call' AND model IS NOT NULL) AS model,
           count(*) FILTER (WHERE kind = 'tool_call') AS tool_calls,
           coalesce(sum(lines_added), 0) AS lines_added,
           coalesce(sum(lines_removed), 0) AS lines_removed
    FROM assigned WHERE turn IS NOT NULL GROUP BY turn
)
SELECT p.turn_id, p.session_id, p.kind = 'slash_command' AS slash_command, p.event_id AS prompt_event_id,
       p.occurred_at AS started_at, greatest(t.last_at, p.occurred_at) AS last_at,
       epoch_us(greatest(t.last_at, p.occurred_at) - p.occurred_at) / 1e6 AS wall_s,
       t.model_s, t.model_calls, t.model, t.tool_calls, t.lines_added, t.lines_removed,
       p.actor, p.team, p.tool, p.tool_version, p.autonomy, p.category, p.role, p.rung,
       p.human_minutes, p.size_source
FROM (SELECT * FROM prompts QUALIFY row_number() OVER (PARTITION BY turn_id ORDER BY occurred_at, event_id) = 1) p
JOIN per_turn t ON t.turn = p.turn_id;

CREATE VIEW agent_turns AS SELECT * FROM agent_turns_in(NULL);
