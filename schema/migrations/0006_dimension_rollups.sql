-- 0006: dimension rollups for the panels that need a user, a repository or an hour.
--
-- 0005's spend_daily_coarse serves totals without user, repository and branch. The
-- remaining slow panels need exactly one of those dimensions (developers and teams need
-- the user, repositories need repository and branch, "Cost per hour" needs the hour), so
-- they still read the fine spend_daily / spend_hourly (one row per user, repo, branch,
-- model, harness, ...). Three narrower rollups, each keyed by what its panels group by
-- plus the filters it can honour:
--
--   spend_daily_user     (bucket, user_id, team, model, environment, workspace_is_ci)
--       developer summaries, active developers, long-context requests, cost per active
--       developer per day. Honours the environment, team, user and model filters; used
--       when the harness and repository filters are both "All".
--   spend_daily_repo     (bucket, workspace_repo, workspace_branch, workspace_is_ci, team,
--                         environment, user_id)
--       repository summaries (user_id for the distinct developers per branch). Honours
--       the environment, team, user and repository filters; used when the model and
--       harness filters are both "All".
--   spend_hourly_coarse  (bucket, team, model, harness_name, environment)
--       the hourly cost series: spend_daily_coarse at hour grain, keyed only by the four
--       filters it honours (environment, team, model, harness); used when the user and
--       repository filters are both "All".
--
-- is_developer (NOT workspace_is_ci AND user_id <> 'unknown') follows from the keys. A
-- filter a table cannot honour routes the query to the exact fine path (spend_filtered or
-- the fine views), so every function returns what it returned before, row for row.
--
-- Maintenance follows 0005: the statement-level trigger re-sums the same deltas it adds to
-- spend_hourly / spend_daily (spend_rollup_aggregate of the transition rows, projected on
-- each table's key), after spend_daily_coarse, in a fixed order; retention deletes touch
-- none of them; spend_rollup_verify() and spend_rollup_rebuild() cover them; the history is
-- backfilled from spend_hourly / spend_daily (raw rows before the horizon are gone).

-- Tables, indexes and data only: the functions, views, types, triggers and grants are
-- the files of schema/objects/, applied after every migration run (see docs/schema.md).

CREATE TABLE spend_daily_user (
    bucket              TIMESTAMPTZ NOT NULL,   -- date_trunc('day', ts) in UTC
    user_id             TEXT NOT NULL,
    team                TEXT NOT NULL,
    model               TEXT NOT NULL,
    environment         TEXT NOT NULL,
    workspace_is_ci     BOOLEAN NOT NULL,
    calls               BIGINT NOT NULL DEFAULT 0,
    error_calls         BIGINT NOT NULL DEFAULT 0,
    unpriced_calls      BIGINT NOT NULL DEFAULT 0,
    long_context_calls  BIGINT NOT NULL DEFAULT 0,
    input_tokens        NUMERIC NOT NULL DEFAULT 0,
    output_tokens       NUMERIC NOT NULL DEFAULT 0,
    cache_read_tokens   NUMERIC NOT NULL DEFAULT 0,
    cache_write_tokens  NUMERIC NOT NULL DEFAULT 0,
    reasoning_tokens    NUMERIC NOT NULL DEFAULT 0,
    cost_usd            NUMERIC NOT NULL DEFAULT 0,
    list_cost_usd       NUMERIC NOT NULL DEFAULT 0,
    reported_cost_usd   NUMERIC NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, user_id, team, model, environment, workspace_is_ci)
);

CREATE TABLE spend_daily_repo (
    bucket              TIMESTAMPTZ NOT NULL,   -- date_trunc('day', ts) in UTC
    workspace_repo      TEXT NOT NULL,          -- '' when unknown
    workspace_branch    TEXT NOT NULL,          -- '' when unknown
    workspace_is_ci     BOOLEAN NOT NULL,
    team                TEXT NOT NULL,
    environment         TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    calls               BIGINT NOT NULL DEFAULT 0,
    error_calls         BIGINT NOT NULL DEFAULT 0,
    unpriced_calls      BIGINT NOT NULL DEFAULT 0,
    long_context_calls  BIGINT NOT NULL DEFAULT 0,
    input_tokens        NUMERIC NOT NULL DEFAULT 0,
    output_tokens       NUMERIC NOT NULL DEFAULT 0,
    cache_read_tokens   NUMERIC NOT NULL DEFAULT 0,
    cache_write_tokens  NUMERIC NOT NULL DEFAULT 0,
    reasoning_tokens    NUMERIC NOT NULL DEFAULT 0,
    cost_usd            NUMERIC NOT NULL DEFAULT 0,
    list_cost_usd       NUMERIC NOT NULL DEFAULT 0,
    reported_cost_usd   NUMERIC NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, workspace_repo, workspace_branch, workspace_is_ci, team, environment, user_id)
);

CREATE TABLE spend_hourly_coarse (
    bucket              TIMESTAMPTZ NOT NULL,   -- date_trunc('hour', ts) in UTC
    team                TEXT NOT NULL,
    model               TEXT NOT NULL,
    harness_name        TEXT NOT NULL,
    environment         TEXT NOT NULL,
    calls               BIGINT NOT NULL DEFAULT 0,
    error_calls         BIGINT NOT NULL DEFAULT 0,
    unpriced_calls      BIGINT NOT NULL DEFAULT 0,
    long_context_calls  BIGINT NOT NULL DEFAULT 0,
    input_tokens        NUMERIC NOT NULL DEFAULT 0,
    output_tokens       NUMERIC NOT NULL DEFAULT 0,
    cache_read_tokens   NUMERIC NOT NULL DEFAULT 0,
    cache_write_tokens  NUMERIC NOT NULL DEFAULT 0,
    reasoning_tokens    NUMERIC NOT NULL DEFAULT 0,
    cost_usd            NUMERIC NOT NULL DEFAULT 0,
    list_cost_usd       NUMERIC NOT NULL DEFAULT 0,
    reported_cost_usd   NUMERIC NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, team, model, harness_name, environment)
);

-- Backfill, run by migrate() once the objects are applied (schema_backfills).
INSERT INTO schema_backfills (migration, action, rollup) VALUES
    ('0006_dimension_rollups', 'derive', 'spend_hourly_coarse'),
    ('0006_dimension_rollups', 'derive', 'spend_daily_user'),
    ('0006_dimension_rollups', 'derive', 'spend_daily_repo');
