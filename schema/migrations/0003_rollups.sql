-- Pre-aggregated spend, maintained incrementally from agent_spend_logs (see triggers
-- below), so dashboards over months of history read thousands of rows, not millions.
-- Dimension columns are NOT NULL ('' for "none") so they can be part of the key.

-- Tables, indexes and data only: the functions, views, types, triggers and grants are
-- the files of schema/objects/, applied after every migration run (see docs/schema.md).

CREATE TABLE spend_hourly (
    bucket              TIMESTAMPTZ NOT NULL,   -- date_trunc('hour', ts) in UTC
    user_id             TEXT NOT NULL,
    team                TEXT NOT NULL,
    model               TEXT NOT NULL,
    provider            TEXT NOT NULL,
    harness_name        TEXT NOT NULL,
    workspace_repo      TEXT NOT NULL,          -- '' when unknown
    workspace_branch    TEXT NOT NULL,          -- '' when unknown
    environment         TEXT NOT NULL,
    cost_estimation     TEXT NOT NULL,
    workspace_is_ci     BOOLEAN NOT NULL,
    calls               BIGINT NOT NULL DEFAULT 0,
    error_calls         BIGINT NOT NULL DEFAULT 0,
    unpriced_calls      BIGINT NOT NULL DEFAULT 0,  -- total_cost_usd IS NULL
    long_context_calls  BIGINT NOT NULL DEFAULT 0,  -- input+cache_read+cache_write > 200000
    input_tokens        NUMERIC NOT NULL DEFAULT 0,
    output_tokens       NUMERIC NOT NULL DEFAULT 0,
    cache_read_tokens   NUMERIC NOT NULL DEFAULT 0,
    cache_write_tokens  NUMERIC NOT NULL DEFAULT 0,
    reasoning_tokens    NUMERIC NOT NULL DEFAULT 0,
    cost_usd            NUMERIC NOT NULL DEFAULT 0,  -- sum(coalesce(total_cost_usd, 0))
    list_cost_usd       NUMERIC NOT NULL DEFAULT 0,  -- sum(coalesce(list_cost_usd, 0))
    reported_cost_usd   NUMERIC NOT NULL DEFAULT 0,  -- sum(coalesce(reported_cost_usd, 0))
    PRIMARY KEY (bucket, user_id, team, model, provider, harness_name, workspace_repo, workspace_branch,
                 environment, cost_estimation, workspace_is_ci)
);

CREATE TABLE spend_daily (LIKE spend_hourly INCLUDING ALL);  -- bucket = date_trunc('day', ts) in UTC

CREATE INDEX spend_hourly_bucket ON spend_hourly (bucket);

CREATE INDEX spend_daily_bucket ON spend_daily (bucket);

-- Per-session summaries over the whole history (dashboards list sessions, not calls).
-- Dimensions are the value the session's calls reported ('unknown' / '' only when none
-- did; if calls disagree the greatest wins, so the result never depends on arrival order).
CREATE TABLE session_rollup (
    session_id          TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL,
    team                TEXT NOT NULL,
    harness_name        TEXT NOT NULL,
    workspace_repo      TEXT NOT NULL,          -- '' when unknown
    first_ts            TIMESTAMPTZ NOT NULL,   -- start of the first call
    last_ts             TIMESTAMPTZ NOT NULL,   -- start of the last call
    calls               BIGINT NOT NULL,
    error_calls         BIGINT NOT NULL,
    unpriced_calls      BIGINT NOT NULL,        -- total_cost_usd IS NULL
    input_tokens        NUMERIC NOT NULL,
    output_tokens       NUMERIC NOT NULL,
    cache_read_tokens   NUMERIC NOT NULL,
    cache_write_tokens  NUMERIC NOT NULL,
    cost_usd            NUMERIC NOT NULL        -- sum(coalesce(total_cost_usd, 0))
);

CREATE INDEX session_rollup_last_ts ON session_rollup (last_ts);

CREATE INDEX session_rollup_user_last_ts ON session_rollup (user_id, last_ts);

-- What retention removed from agent_spend_logs, summarised per session. Min/max cannot be
-- maintained by subtraction, so deletes and updates recompute the affected sessions as
-- "archive combined with the remaining raw rows"; without the archive that recompute
-- would forget the pruned part of a session.
CREATE TABLE session_archive (LIKE session_rollup INCLUDING ALL);

-- Raw rows before `horizon` may have been deleted by `agent-spend retention`: rollup
-- buckets before it are history that can no longer be recomputed, so verify and rebuild
-- leave them alone.
CREATE TABLE retention_state (
    singleton   BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    horizon     TIMESTAMPTZ NOT NULL,           -- a UTC day boundary, only ever moves forward
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Backfill, run by migrate() once the objects are applied (schema_backfills).
INSERT INTO schema_backfills (migration, action, rollup) VALUES
    ('0003_rollups', 'rebuild', NULL);
