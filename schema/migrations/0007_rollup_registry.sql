-- 0007: the derived rollups listed in one table, an hourly team rollup, and the last
-- panels over 100 ms at 10M calls.
--
-- Until 0006 every derived rollup (re-aggregations of spend_hourly / spend_daily onto a
-- narrower key) was named inside the trigger, verify and rebuild functions, so each new
-- one replaced all three. They are now rows of spend_rollup_registry; those functions are
-- replaced one last time to loop over it, and a later rollup is a CREATE TABLE plus an
-- INSERT here. spend_daily_coarse (0005) joins the registry: its special-cased upsert was
-- the generic one with its key spelled out.
--
-- New: spend_hourly_team (hour, team, environment): the Cost per hour series read ~270k
-- spend_hourly_coarse rows for 90 days; this reads ~20k.
--
-- Read side, each result unchanged:
--   repository_summary  counts developers per branch by grouping per (branch, user) first,
--                       a hash aggregate, instead of count(DISTINCT), which sorted every
--                       input row (the same change 0006 made to org_totals / team_summary),
--                       and reads repository_rows: the whole days summed per key in their
--                       branch, four measures instead of fourteen (0006's spend_repos,
--                       spend_between_repo and spend_by_day_repo are dropped).
--   developer_cost_per_day  the "Cost per active developer per day" series as a function
--                       (it was a count(DISTINCT) in the panel SQL).
--   spend_hour_totals   gains the spend_hourly_team branch; its result drops the model and
--                       harness columns that table cannot supply (its only reader sums cost).
--   arrival_delay_stats  float8 epochs throughout (was NUMERIC, then cast).
--   cache_busting_sessions / cache_writes_unread  sort only the columns the window needs,
--                       on byte-order ("C") keys. Same rows out. (float8 cache shares were
--                       15% faster but can flip a bust exactly at the threshold: not taken.)

-- Tables, indexes and data only: the functions, views, types, triggers and grants are
-- the files of schema/objects/, applied after every migration run (see docs/schema.md).

CREATE TABLE spend_rollup_registry (
    rollup    TEXT PRIMARY KEY,                                   -- the table
    position  INTEGER NOT NULL UNIQUE,                            -- maintenance (= lock) order
    grain     TEXT NOT NULL CHECK (grain IN ('hour', 'day')),     -- re-aggregates spend_hourly / spend_daily
    keys      TEXT[] NOT NULL CHECK (keys[1] = 'bucket')          -- the primary key, in table order
);

CREATE TABLE spend_hourly_team (
    bucket              TIMESTAMPTZ NOT NULL,   -- date_trunc('hour', ts) in UTC
    team                TEXT NOT NULL,
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
    PRIMARY KEY (bucket, team, environment)
);

INSERT INTO spend_rollup_registry (rollup, position, grain, keys) VALUES
    ('spend_daily_coarse', 1, 'day',
     ARRAY['bucket', 'team', 'model', 'provider', 'harness_name', 'environment', 'cost_estimation',
           'workspace_is_ci']),
    ('spend_hourly_coarse', 2, 'hour', ARRAY['bucket', 'team', 'model', 'harness_name', 'environment']),
    ('spend_daily_user', 3, 'day', ARRAY['bucket', 'user_id', 'team', 'model', 'environment', 'workspace_is_ci']),
    ('spend_daily_repo', 4, 'day',
     ARRAY['bucket', 'workspace_repo', 'workspace_branch', 'workspace_is_ci', 'team', 'environment', 'user_id']),
    ('spend_hourly_team', 5, 'hour', ARRAY['bucket', 'team', 'environment']);

-- The 0005 helpers only the old trigger, verify and rebuild called (the generic
-- spend_rollup_project / _aggregate_dim / _upsert_dim now serve spend_daily_coarse).
DROP FUNCTION IF EXISTS spend_rollup_upsert_coarse(TEXT);

DROP FUNCTION IF EXISTS spend_rollup_aggregate_coarse(TEXT);

DROP FUNCTION IF EXISTS spend_rollup_coarsen(TEXT);

-- spend_hour_totals' result changed here (objects/40_read_model/spend_hour_totals.sql).
DROP FUNCTION IF EXISTS spend_hour_totals(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]);

-- Only 0006's repository_summary read these (spend_by_day_repo through spend_between_repo).
DROP FUNCTION IF EXISTS spend_repos(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]);

DROP FUNCTION IF EXISTS spend_between_repo(timestamptz, timestamptz);

DROP TYPE IF EXISTS spend_repo_row;

DROP VIEW IF EXISTS spend_by_day_repo;

-- Backfill, run by migrate() once the objects are applied (schema_backfills).
INSERT INTO schema_backfills (migration, action, rollup) VALUES
    ('0007_rollup_registry', 'derive', 'spend_hourly_team');
