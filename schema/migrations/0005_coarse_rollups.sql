-- 0005: a coarse daily rollup for range totals that need no user, repository or branch.
--
-- spend_daily is keyed by user, repo and branch as well, so a 90-day total over an org
-- reads one row per (day, user, repo, branch, model, ...): ~200k rows at 10M calls. Most
-- totals (cost, tokens, calls per model, per team, per cost estimation, CI share) need
-- none of those three columns; spend_daily_coarse drops them and is 5-7x smaller.
--
-- It is maintained by the same statement-level triggers (0003's trigger function is
-- replaced below to upsert it after spend_daily), checked by spend_rollup_verify(),
-- recomputed by spend_rollup_rebuild(), and keeps its history on retention exactly like
-- spend_daily. Its formulas are spend_daily's: rows are spend_rollup_aggregate('day', ...)
-- re-aggregated without user_id, workspace_repo and workspace_branch.
--
-- Read side: spend_totals(from, to, filters...) is spend_filtered without the user,
-- repository and branch columns; its whole days come from spend_daily_coarse when the user
-- and repository filters are both "All", else from spend_daily. Summaries that need no
-- identity or repository (org totals, team totals, models, cost estimation, pricing gaps)
-- now read it; those that do keep reading spend_filtered.

-- Tables, indexes and data only: the functions, views, types, triggers and grants are
-- the files of schema/objects/, applied after every migration run (see docs/schema.md).

CREATE TABLE spend_daily_coarse (
    bucket              TIMESTAMPTZ NOT NULL,   -- date_trunc('day', ts) in UTC
    team                TEXT NOT NULL,
    model               TEXT NOT NULL,
    provider            TEXT NOT NULL,
    harness_name        TEXT NOT NULL,
    environment         TEXT NOT NULL,
    cost_estimation     TEXT NOT NULL,
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
    PRIMARY KEY (bucket, team, model, provider, harness_name, environment, cost_estimation, workspace_is_ci)
);

-- Backfill, run by migrate() once the objects are applied (schema_backfills).
INSERT INTO schema_backfills (migration, action, rollup) VALUES
    ('0005_coarse_rollups', 'derive', 'spend_daily_coarse');
