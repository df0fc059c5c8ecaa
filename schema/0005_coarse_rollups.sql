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

-- ---------------------------------------------------------------------------------------
-- Query-text builders (see 0003): the coarse rows are the fine daily aggregation of the
-- same input, summed over user, repository and branch, so no formula is written twice.
-- ---------------------------------------------------------------------------------------

-- Re-aggregates spend_hourly-shaped rows (a query text) into spend_daily_coarse-shaped rows.
CREATE FUNCTION spend_rollup_coarsen(fine TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        SELECT f.bucket, f.team, f.model, f.provider, f.harness_name, f.environment, f.cost_estimation,
               f.workspace_is_ci,
               sum(f.calls)::bigint AS calls, sum(f.error_calls)::bigint AS error_calls,
               sum(f.unpriced_calls)::bigint AS unpriced_calls,
               sum(f.long_context_calls)::bigint AS long_context_calls,
               sum(f.input_tokens) AS input_tokens, sum(f.output_tokens) AS output_tokens,
               sum(f.cache_read_tokens) AS cache_read_tokens, sum(f.cache_write_tokens) AS cache_write_tokens,
               sum(f.reasoning_tokens) AS reasoning_tokens, sum(f.cost_usd) AS cost_usd,
               sum(f.list_cost_usd) AS list_cost_usd, sum(f.reported_cost_usd) AS reported_cost_usd
        FROM (%s) f
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8$q$, fine)
$$;

-- Signed aggregation of an input query into spend_daily_coarse-shaped rows.
CREATE FUNCTION spend_rollup_aggregate_coarse(src TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT spend_rollup_coarsen(spend_rollup_aggregate('day', src))
$$;

-- spend_rollup_upsert for spend_daily_coarse: adds the deltas of `src`, returns the buckets
-- where a row dropped to calls = 0. Sorted by key, like the others, for a global lock order.
CREATE FUNCTION spend_rollup_upsert_coarse(src TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        WITH up AS (
            INSERT INTO spend_daily_coarse AS t
            SELECT * FROM (%s) a ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
            ON CONFLICT (bucket, team, model, provider, harness_name, environment, cost_estimation,
                         workspace_is_ci)
            DO UPDATE SET
                calls = t.calls + EXCLUDED.calls,
                error_calls = t.error_calls + EXCLUDED.error_calls,
                unpriced_calls = t.unpriced_calls + EXCLUDED.unpriced_calls,
                long_context_calls = t.long_context_calls + EXCLUDED.long_context_calls,
                input_tokens = t.input_tokens + EXCLUDED.input_tokens,
                output_tokens = t.output_tokens + EXCLUDED.output_tokens,
                cache_read_tokens = t.cache_read_tokens + EXCLUDED.cache_read_tokens,
                cache_write_tokens = t.cache_write_tokens + EXCLUDED.cache_write_tokens,
                reasoning_tokens = t.reasoning_tokens + EXCLUDED.reasoning_tokens,
                cost_usd = t.cost_usd + EXCLUDED.cost_usd,
                list_cost_usd = t.list_cost_usd + EXCLUDED.list_cost_usd,
                reported_cost_usd = t.reported_cost_usd + EXCLUDED.reported_cost_usd
            RETURNING t.bucket, t.calls)
        SELECT array_agg(DISTINCT up.bucket) FROM up WHERE up.calls = 0$q$,
        spend_rollup_aggregate_coarse(src))
$$;

-- ---------------------------------------------------------------------------------------
-- 0003's trigger function, now also maintaining spend_daily_coarse (after spend_daily, so
-- the lock order stays global: hourly, daily, coarse, sessions). Retention deletes return
-- before any spend rollup is touched, so the coarse history survives like the daily one.
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION spend_rollup_trigger() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    src TEXT;
    zero TIMESTAMPTZ[];
    affected TEXT[];
    horizon TIMESTAMPTZ;
    latest TIMESTAMPTZ;
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('agent_spend.retention', true) = 'on' THEN
        -- Retention: rollups keep the history, so nothing is subtracted; the pruned calls
        -- move into session_archive so later session recomputes still count them.
        horizon := spend_retention_horizon();
        SELECT max(o.ts) INTO latest FROM old_rows o;
        IF latest >= horizon THEN
            RAISE EXCEPTION 'retention delete of a row at % is not before the recorded horizon %', latest, horizon
                USING HINT = 'record the horizon in retention_state first (agent-spend retention does)';
        END IF;
        EXECUTE session_rollup_merge('session_archive', spend_rollup_input('old_rows', 1));
        RETURN NULL;
    END IF;

    -- Replays (every row a duplicate) and no-op statements end here, before any planning.
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT FROM new_rows) THEN
            RETURN NULL;
        END IF;
        src := spend_rollup_input('new_rows', 1);
    ELSIF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT FROM old_rows) THEN
            RETURN NULL;
        END IF;
        src := spend_rollup_input('old_rows', -1);
    ELSE
        IF NOT EXISTS (SELECT FROM new_rows) THEN
            RETURN NULL;
        END IF;
        -- Only rows whose rollup inputs changed (re-pricing, a dimension fix): subtract the
        -- old version, add the new one. Unpaired ids (id reset to DEFAULT) count as changed.
        src := spend_rollup_input('new_rows', 1, format(
                   'WHERE NOT EXISTS (SELECT FROM old_rows o WHERE o.id = r.id AND (%s) IS NOT DISTINCT FROM (%s))',
                   spend_rollup_input_columns('o'), spend_rollup_input_columns('r')))
            || ' UNION ALL '
            || spend_rollup_input('old_rows', -1, format(
                   'WHERE NOT EXISTS (SELECT FROM new_rows n WHERE n.id = r.id AND (%s) IS NOT DISTINCT FROM (%s))',
                   spend_rollup_input_columns('n'), spend_rollup_input_columns('r')));
    END IF;

    -- The same order in every transaction (hourly, daily, coarse, sessions) keeps lock order global.
    EXECUTE spend_rollup_upsert('spend_hourly', 'hour', src) INTO zero;
    IF zero IS NOT NULL THEN
        DELETE FROM spend_hourly WHERE bucket = ANY(zero) AND calls = 0;
    END IF;
    EXECUTE spend_rollup_upsert('spend_daily', 'day', src) INTO zero;
    IF zero IS NOT NULL THEN
        DELETE FROM spend_daily WHERE bucket = ANY(zero) AND calls = 0;
    END IF;
    EXECUTE spend_rollup_upsert_coarse(src) INTO zero;
    IF zero IS NOT NULL THEN
        DELETE FROM spend_daily_coarse WHERE bucket = ANY(zero) AND calls = 0;
    END IF;

    IF TG_OP = 'INSERT' THEN
        EXECUTE session_rollup_merge('session_rollup', src);
    ELSE
        EXECUTE format('SELECT array_agg(DISTINCT s.session_id) FROM (%s) s WHERE s.session_id IS NOT NULL', src)
            INTO affected;
        IF affected IS NOT NULL THEN
            LOCK TABLE session_rollup IN SHARE ROW EXCLUSIVE MODE;
            PERFORM session_rollup_recompute(affected);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- ---------------------------------------------------------------------------------------
-- Verify and rebuild (0003), now covering spend_daily_coarse as well.
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION spend_rollup_verify() RETURNS TABLE (rollup TEXT, key JSONB, stored JSONB, fresh JSONB)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    spend_keys CONSTANT TEXT[] := ARRAY['bucket', 'user_id', 'team', 'model', 'provider', 'harness_name',
                                        'workspace_repo', 'workspace_branch', 'environment', 'cost_estimation',
                                        'workspace_is_ci'];
    coarse_keys CONSTANT TEXT[] := ARRAY['bucket', 'team', 'model', 'provider', 'harness_name', 'environment',
                                         'cost_estimation', 'workspace_is_ci'];
    spend_measures CONSTANT TEXT[] := ARRAY['calls', 'error_calls', 'unpriced_calls', 'long_context_calls',
                                            'input_tokens', 'output_tokens', 'cache_read_tokens',
                                            'cache_write_tokens', 'reasoning_tokens', 'cost_usd', 'list_cost_usd',
                                            'reported_cost_usd'];
    session_measures CONSTANT TEXT[] := ARRAY['user_id', 'team', 'harness_name', 'workspace_repo', 'first_ts',
                                              'last_ts', 'calls', 'error_calls', 'unpriced_calls', 'input_tokens',
                                              'output_tokens', 'cache_read_tokens', 'cache_write_tokens',
                                              'cost_usd'];
    tables CONSTANT TEXT[] := ARRAY['spend_hourly', 'spend_daily'];
    grains CONSTANT TEXT[] := ARRAY['hour', 'day'];
    -- $1 horizon, $2 key columns, $3 measure columns. EXCEPT ALL finds the differing rows
    -- with native (by-value) comparisons; only those few are turned into JSON and paired.
    compare CONSTANT TEXT := $q$
        WITH s AS MATERIALIZED (%2$s),
             f AS MATERIALIZED (%3$s),
             only_s AS (SELECT to_jsonb(d) AS v FROM (SELECT * FROM s EXCEPT ALL SELECT * FROM f) d),
             only_f AS (SELECT to_jsonb(d) AS v FROM (SELECT * FROM f EXCEPT ALL SELECT * FROM s) d)
        SELECT %1$L::text, coalesce(only_s.v, only_f.v) - $3, only_s.v - $2, only_f.v - $2
        FROM only_s FULL JOIN only_f ON only_f.v - $3 = only_s.v - $3
        ORDER BY 2$q$;
BEGIN
    FOR i IN 1 .. 2 LOOP
        RETURN QUERY EXECUTE format(
            compare, tables[i], format('SELECT * FROM %I WHERE bucket >= $1', tables[i]),
            spend_rollup_aggregate(grains[i], spend_rollup_input('agent_spend_logs', 1, 'WHERE r.ts >= $1')))
            USING spend_retention_horizon(), spend_keys, spend_measures;
    END LOOP;
    RETURN QUERY EXECUTE format(
        compare, 'spend_daily_coarse', 'SELECT * FROM spend_daily_coarse WHERE bucket >= $1',
        spend_rollup_aggregate_coarse(spend_rollup_input('agent_spend_logs', 1, 'WHERE r.ts >= $1')))
        USING spend_retention_horizon(), coarse_keys, spend_measures;
    RETURN QUERY EXECUTE format(compare, 'session_rollup', 'SELECT * FROM session_rollup',
                                session_rollup_expected('NULL::text[]'))
        USING spend_retention_horizon(), ARRAY['session_id'], session_measures;
END
$$;

CREATE OR REPLACE FUNCTION spend_rollup_rebuild(since TIMESTAMPTZ DEFAULT NULL)
RETURNS TABLE (rollup TEXT, removed BIGINT, written BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    start_day CONSTANT TIMESTAMPTZ :=
        date_trunc('day', coalesce(since, '-infinity') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    start_bucket TIMESTAMPTZ;
    ids TEXT[];
BEGIN
    -- Waits for running writers and blocks new ones (and other rebuilds) until commit, so
    -- raw rows and rollups cannot change between the delete and the re-aggregation.
    LOCK TABLE agent_spend_logs IN SHARE ROW EXCLUSIVE MODE;
    start_bucket := greatest(start_day, spend_retention_horizon());

    rollup := 'spend_hourly';
    DELETE FROM spend_hourly h WHERE h.bucket >= start_bucket;
    GET DIAGNOSTICS removed = ROW_COUNT;
    EXECUTE format('INSERT INTO spend_hourly SELECT * FROM (%s) a',
                   spend_rollup_aggregate('hour', spend_rollup_input('agent_spend_logs', 1, 'WHERE r.ts >= $1')))
        USING start_bucket;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN NEXT;

    rollup := 'spend_daily';
    DELETE FROM spend_daily d WHERE d.bucket >= start_bucket;
    GET DIAGNOSTICS removed = ROW_COUNT;
    EXECUTE format('INSERT INTO spend_daily SELECT * FROM (%s) a',
                   spend_rollup_aggregate('day', spend_rollup_input('agent_spend_logs', 1, 'WHERE r.ts >= $1')))
        USING start_bucket;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN NEXT;

    -- From the daily rows just written: the same result as aggregating the raw rows again.
    rollup := 'spend_daily_coarse';
    DELETE FROM spend_daily_coarse c WHERE c.bucket >= start_bucket;
    GET DIAGNOSTICS removed = ROW_COUNT;
    EXECUTE format('INSERT INTO spend_daily_coarse SELECT * FROM (%s) a',
                   spend_rollup_coarsen('SELECT * FROM spend_daily d WHERE d.bucket >= $1'))
        USING start_bucket;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN NEXT;

    -- Sessions are archive + raw, exact at any date: no horizon clamp needed.
    rollup := 'session_rollup';
    IF since IS NOT NULL THEN
        SELECT coalesce(array_agg(DISTINCT x.session_id), '{}') INTO ids
        FROM (SELECT s.session_id FROM session_rollup s WHERE s.last_ts >= start_day
              UNION ALL
              SELECT l.session_id FROM agent_spend_logs l WHERE l.ts >= start_day AND l.session_id IS NOT NULL) x;
    END IF;
    SELECT r.removed, r.written INTO removed, written FROM session_rollup_recompute(ids) r;
    RETURN NEXT;
END
$$;

-- Backfill: every daily bucket, history before the retention horizon included (its raw
-- rows may be gone, but spend_daily kept it).
DO $$
BEGIN
    EXECUTE format('INSERT INTO spend_daily_coarse SELECT * FROM (%s) a',
                   spend_rollup_coarsen('SELECT * FROM spend_daily'));
END
$$;
ANALYZE spend_daily_coarse;

-- ---------------------------------------------------------------------------------------
-- Read model
-- ---------------------------------------------------------------------------------------

CREATE VIEW spend_by_day_coarse AS
SELECT
    bucket,
    team,
    model,
    provider,
    harness_name AS harness,
    environment,
    cost_estimation,
    workspace_is_ci AS is_ci,
    calls,
    error_calls,
    unpriced_calls,
    long_context_calls,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_write_tokens,
    reasoning_tokens,
    input_tokens + cache_read_tokens + cache_write_tokens AS prompt_tokens,
    input_tokens + cache_read_tokens + cache_write_tokens + output_tokens AS total_tokens,
    cost_usd,
    list_cost_usd,
    reported_cost_usd
FROM spend_daily_coarse;

-- spend_row without user, repository, branch and is_developer.
CREATE TYPE spend_total_row AS (
    team text, model text, provider text, harness text, environment text, cost_estimation text, is_ci boolean,
    calls numeric, error_calls numeric, unpriced_calls numeric, long_context_calls numeric,
    input_tokens numeric, output_tokens numeric, cache_read_tokens numeric, cache_write_tokens numeric,
    reasoning_tokens numeric, prompt_tokens numeric, total_tokens numeric,
    cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric
);

-- 0004's spend_between with the whole days from spend_daily_coarse: the same five
-- disjoint branches (raw edges, whole hours, whole days), the same boundaries.
CREATE FUNCTION spend_between_coarse(p_from timestamptz, p_to timestamptz) RETURNS SETOF spend_total_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.team, c.model, c.provider, c.harness, c.environment, c.cost_estimation, c.is_ci,
           1::numeric, (c.status = 'error')::int::numeric, c.is_unpriced::int::numeric,
           c.is_long_context::int::numeric, c.input_tokens::numeric, c.output_tokens::numeric,
           c.cache_read_tokens::numeric, c.cache_write_tokens::numeric, c.reasoning_tokens::numeric,
           c.prompt_tokens::numeric, c.total_tokens::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, coalesce(c.reported_cost_usd, 0)::numeric
    FROM spend_calls c
    WHERE c.ts >= (SELECT b.lo FROM spend_range_bounds(p_from, p_to) b)
      AND c.ts < (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b) AND c.ts <= p_to
    UNION ALL
    SELECT h.team, h.model, h.provider, h.harness, h.environment, h.cost_estimation, h.is_ci,
           h.calls, h.error_calls, h.unpriced_calls, h.long_context_calls,
           h.input_tokens, h.output_tokens, h.cache_read_tokens, h.cache_write_tokens, h.reasoning_tokens,
           h.prompt_tokens, h.total_tokens, h.cost_usd, h.list_cost_usd, h.reported_cost_usd
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.hourly_end FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT d.team, d.model, d.provider, d.harness, d.environment, d.cost_estimation, d.is_ci,
           d.calls, d.error_calls, d.unpriced_calls, d.long_context_calls,
           d.input_tokens, d.output_tokens, d.cache_read_tokens, d.cache_write_tokens, d.reasoning_tokens,
           d.prompt_tokens, d.total_tokens, d.cost_usd, d.list_cost_usd, d.reported_cost_usd
    FROM spend_by_day_coarse d
    WHERE d.bucket >= (SELECT b.ds FROM spend_range_bounds(p_from, p_to) b)
      AND d.bucket < (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT h.team, h.model, h.provider, h.harness, h.environment, h.cost_estimation, h.is_ci,
           h.calls, h.error_calls, h.unpriced_calls, h.long_context_calls,
           h.input_tokens, h.output_tokens, h.cache_read_tokens, h.cache_write_tokens, h.reasoning_tokens,
           h.prompt_tokens, h.total_tokens, h.cost_usd, h.list_cost_usd, h.reported_cost_usd
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.he FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT c.team, c.model, c.provider, c.harness, c.environment, c.cost_estimation, c.is_ci,
           1::numeric, (c.status = 'error')::int::numeric, c.is_unpriced::int::numeric,
           c.is_long_context::int::numeric, c.input_tokens::numeric, c.output_tokens::numeric,
           c.cache_read_tokens::numeric, c.cache_write_tokens::numeric, c.reasoning_tokens::numeric,
           c.prompt_tokens::numeric, c.total_tokens::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, coalesce(c.reported_cost_usd, 0)::numeric
    FROM spend_calls c
    WHERE c.ts >= (SELECT b.he FROM spend_range_bounds(p_from, p_to) b) AND c.ts <= p_to
$$;

-- spend_filtered without user, repository and branch columns. With the user and repository
-- filters both on "All" it reads spend_between_coarse, else spend_filtered (which can apply
-- them). Both guards are constants for Grafana's literal arrays, so the planner keeps one
-- branch and drops the other before execution; with parameters it decides once per run.
CREATE FUNCTION spend_totals(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS SETOF spend_total_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.team, s.model, s.provider, s.harness, s.environment, s.cost_estimation, s.is_ci,
           s.calls, s.error_calls, s.unpriced_calls, s.long_context_calls,
           s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.reasoning_tokens,
           s.prompt_tokens, s.total_tokens, s.cost_usd, s.list_cost_usd, s.reported_cost_usd
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    WHERE NOT ('__all' = ANY (p_user) AND '__all' = ANY (p_repository))
    UNION ALL
    SELECT c.*
    FROM spend_between_coarse(p_from, p_to) c
    WHERE '__all' = ANY (p_user) AND '__all' = ANY (p_repository)
      AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
      AND spend_dim_match(c.model, p_model) AND spend_dim_match(c.harness, p_harness)
$$;

-- ---------------------------------------------------------------------------------------
-- 0004's summaries that need no user, repository or branch, now on spend_totals. Bodies
-- as in 0004 otherwise; signatures and result columns unchanged.
-- ---------------------------------------------------------------------------------------

-- The sums come from spend_totals; the active developers (a distinct count of users) from
-- spend_filtered. That part is a one-row aggregate LEFT JOINed ON true, so the planner
-- removes it when a panel selects only sums (Total cost, Tokens, ...).
CREATE OR REPLACE FUNCTION org_totals(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric, calls numeric, error_calls numeric,
    active_developers bigint, cost_per_active_developer_usd numeric, total_tokens numeric,
    input_tokens numeric, output_tokens numeric, cache_read_tokens numeric, cache_write_tokens numeric,
    cache_hit_ratio numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT t.cost_usd, t.list_cost_usd, t.reported_cost_usd, t.calls, t.error_calls,
           d.active_developers, d.developer_cost_usd / nullif(d.active_developers, 0),
           t.total_tokens, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_tokens,
           t.cache_hit_ratio
    FROM (
        SELECT coalesce(sum(s.cost_usd), 0) AS cost_usd, coalesce(sum(s.list_cost_usd), 0) AS list_cost_usd,
               coalesce(sum(s.reported_cost_usd), 0) AS reported_cost_usd, coalesce(sum(s.calls), 0) AS calls,
               coalesce(sum(s.error_calls), 0) AS error_calls, coalesce(sum(s.total_tokens), 0) AS total_tokens,
               coalesce(sum(s.input_tokens), 0) AS input_tokens, coalesce(sum(s.output_tokens), 0) AS output_tokens,
               coalesce(sum(s.cache_read_tokens), 0) AS cache_read_tokens,
               coalesce(sum(s.cache_write_tokens), 0) AS cache_write_tokens,
               sum(s.cache_read_tokens) / nullif(sum(s.prompt_tokens), 0) AS cache_hit_ratio
        FROM spend_totals(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    ) t
    LEFT JOIN (
        SELECT count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0) AS active_developers,
               sum(s.cost_usd) FILTER (WHERE s.is_developer) AS developer_cost_usd
        FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    ) d ON true
$$;

-- Per team the same split: sums from spend_totals, developers from spend_filtered (a
-- per-team aggregate joined on its group key, removed when no developer column is read).
CREATE OR REPLACE FUNCTION team_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    team text, cost_usd numeric, list_cost_usd numeric, calls numeric, active_developers bigint,
    cost_per_active_developer_usd numeric, total_tokens numeric, cache_hit_ratio numeric, cost_share numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT t.team, t.cost_usd, t.list_cost_usd, t.calls, coalesce(d.active_developers, 0),
           d.developer_cost_usd / nullif(d.active_developers, 0), t.total_tokens,
           t.cache_read_tokens / nullif(t.prompt_tokens, 0), t.cost_usd / nullif(sum(t.cost_usd) OVER (), 0)
    FROM (
        SELECT s.team, sum(s.cost_usd) AS cost_usd, sum(s.list_cost_usd) AS list_cost_usd, sum(s.calls) AS calls,
               sum(s.total_tokens) AS total_tokens, sum(s.cache_read_tokens) AS cache_read_tokens,
               sum(s.prompt_tokens) AS prompt_tokens
        FROM spend_totals(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.team
    ) t
    LEFT JOIN (
        SELECT s.team, count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0) AS active_developers,
               sum(s.cost_usd) FILTER (WHERE s.is_developer) AS developer_cost_usd
        FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.team
    ) d ON d.team = t.team
$$;

CREATE OR REPLACE FUNCTION spend_by_cost_estimation(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    cost_estimation text, calls numeric, cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric,
    total_tokens numeric, list_cost_share numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.cost_estimation, sum(s.calls), sum(s.cost_usd), sum(s.list_cost_usd), sum(s.reported_cost_usd),
           sum(s.total_tokens), sum(s.list_cost_usd) / nullif(sum(sum(s.list_cost_usd)) OVER (), 0)
    FROM spend_totals(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    GROUP BY s.cost_estimation
$$;

CREATE OR REPLACE FUNCTION model_cache_efficiency(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    model text, provider text, calls numeric, input_tokens numeric, output_tokens numeric,
    cache_read_tokens numeric, cache_write_tokens numeric, total_tokens numeric, cost_usd numeric,
    list_cost_usd numeric, cost_per_1k_output_usd numeric, list_cost_per_1k_output_usd numeric,
    cache_hit_ratio numeric, cache_saved_usd numeric, long_context_calls numeric,
    input_usd_per_mtok numeric, cache_read_usd_per_mtok numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH per_model AS (
        SELECT s.model, min(s.provider) AS provider, sum(s.calls) AS calls, sum(s.input_tokens) AS input_tokens,
               sum(s.output_tokens) AS output_tokens, sum(s.cache_read_tokens) AS cache_read_tokens,
               sum(s.cache_write_tokens) AS cache_write_tokens, sum(s.total_tokens) AS total_tokens,
               sum(s.prompt_tokens) AS prompt_tokens, sum(s.cost_usd) AS cost_usd,
               sum(s.list_cost_usd) AS list_cost_usd, sum(s.long_context_calls) AS long_context_calls
        FROM spend_totals(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.model
    )
    SELECT m.model, m.provider, m.calls, m.input_tokens, m.output_tokens, m.cache_read_tokens,
           m.cache_write_tokens, m.total_tokens, m.cost_usd, m.list_cost_usd,
           1000 * m.cost_usd / nullif(m.output_tokens, 0), 1000 * m.list_cost_usd / nullif(m.output_tokens, 0),
           m.cache_read_tokens / nullif(m.prompt_tokens, 0),
           m.cache_read_tokens * (p.usd_per_input_token - p.usd_per_cache_read_token),
           m.long_context_calls, 1e6 * p.usd_per_input_token, 1e6 * p.usd_per_cache_read_token
    FROM per_model m
    LEFT JOIN model_token_prices p ON p.model = m.model
$$;

CREATE OR REPLACE FUNCTION pricing_gaps(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    model text, provider text, calls numeric, unpriced_calls numeric, total_tokens numeric, cost_usd numeric,
    list_cost_usd numeric, problem text
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT * FROM (
        SELECT s.model, min(s.provider), sum(s.calls), sum(s.unpriced_calls), sum(s.total_tokens), sum(s.cost_usd),
               sum(s.list_cost_usd),
               CASE
                   WHEN s.model = 'unknown' THEN 'model not reported'
                   WHEN sum(s.unpriced_calls) > 0 THEN 'calls without cost'
                   WHEN sum(s.list_cost_usd) = 0 AND sum(s.total_tokens) > 0 THEN 'no list price'
               END AS problem
        FROM spend_totals(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.model
    ) m
    WHERE m.problem IS NOT NULL
$$;

-- ---------------------------------------------------------------------------------------
-- Grants (see 0003 and 0004).
-- ---------------------------------------------------------------------------------------
GRANT SELECT ON spend_daily_coarse, spend_by_day_coarse TO agent_spend_reader;
GRANT USAGE ON TYPE spend_total_row TO agent_spend_reader;
GRANT EXECUTE ON FUNCTION
    spend_between_coarse(timestamptz, timestamptz),
    spend_totals(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[])
TO agent_spend_reader;
