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

-- ---------------------------------------------------------------------------------------
-- Query-text builders (see 0003 and 0005): one projection and one upsert for all three
-- tables, parameterised by the key, so no formula is written twice.
-- ---------------------------------------------------------------------------------------

-- The key columns of each dimension rollup, in table order.
CREATE FUNCTION spend_rollup_keys(tbl TEXT) RETURNS TEXT[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE tbl
        WHEN 'spend_daily_user' THEN ARRAY['bucket', 'user_id', 'team', 'model', 'environment', 'workspace_is_ci']
        WHEN 'spend_daily_repo' THEN ARRAY['bucket', 'workspace_repo', 'workspace_branch', 'workspace_is_ci', 'team',
                                           'environment', 'user_id']
        WHEN 'spend_hourly_coarse' THEN ARRAY['bucket', 'team', 'model', 'harness_name', 'environment']
    END
$$;

-- The fine rollup each one re-aggregates: spend_hourly for the hourly table, else spend_daily.
CREATE FUNCTION spend_rollup_grain(tbl TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN tbl = 'spend_hourly_coarse' THEN 'hour' ELSE 'day' END
$$;

-- Re-aggregates spend_hourly-shaped rows (a query text) onto the key of `tbl`.
CREATE FUNCTION spend_rollup_project(tbl TEXT, fine TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        SELECT %1$s,
               sum(f.calls)::bigint AS calls, sum(f.error_calls)::bigint AS error_calls,
               sum(f.unpriced_calls)::bigint AS unpriced_calls,
               sum(f.long_context_calls)::bigint AS long_context_calls,
               sum(f.input_tokens) AS input_tokens, sum(f.output_tokens) AS output_tokens,
               sum(f.cache_read_tokens) AS cache_read_tokens, sum(f.cache_write_tokens) AS cache_write_tokens,
               sum(f.reasoning_tokens) AS reasoning_tokens, sum(f.cost_usd) AS cost_usd,
               sum(f.list_cost_usd) AS list_cost_usd, sum(f.reported_cost_usd) AS reported_cost_usd
        FROM (%2$s) f
        GROUP BY %3$s$q$,
        (SELECT string_agg(format('f.%I', k), ', ' ORDER BY i)
         FROM unnest(spend_rollup_keys(tbl)) WITH ORDINALITY u(k, i)),
        fine,
        (SELECT string_agg(i::text, ', ' ORDER BY i) FROM generate_series(1, cardinality(spend_rollup_keys(tbl))) i))
$$;

-- Signed aggregation of an input query into `tbl`-shaped rows.
CREATE FUNCTION spend_rollup_aggregate_dim(tbl TEXT, src TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT spend_rollup_project(tbl, spend_rollup_aggregate(spend_rollup_grain(tbl), src))
$$;

-- spend_rollup_upsert for the dimension rollups: adds the deltas of `src` to `tbl`, returns
-- the buckets where a row dropped to calls = 0. Sorted by key, for a global lock order.
CREATE FUNCTION spend_rollup_upsert_dim(tbl TEXT, src TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        WITH up AS (
            INSERT INTO %1$I AS t
            SELECT * FROM (%2$s) a ORDER BY %3$s
            ON CONFLICT (%4$s)
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
        tbl, spend_rollup_aggregate_dim(tbl, src),
        (SELECT string_agg(i::text, ', ' ORDER BY i) FROM generate_series(1, cardinality(spend_rollup_keys(tbl))) i),
        (SELECT string_agg(format('%I', k), ', ') FROM unnest(spend_rollup_keys(tbl)) k))
$$;

-- ---------------------------------------------------------------------------------------
-- 0005's trigger function, now also maintaining the three dimension rollups (after
-- spend_daily_coarse, always in the same order, so the lock order stays global). Retention
-- deletes return before any spend rollup is touched, so their history survives too.
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION spend_rollup_trigger() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    src TEXT;
    zero TIMESTAMPTZ[];
    affected TEXT[];
    horizon TIMESTAMPTZ;
    latest TIMESTAMPTZ;
    dim TEXT;
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

    -- The same order in every transaction (hourly, daily, coarse, dimension rollups, sessions)
    -- keeps the lock order global.
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
    FOREACH dim IN ARRAY ARRAY['spend_hourly_coarse', 'spend_daily_user', 'spend_daily_repo'] LOOP
        EXECUTE spend_rollup_upsert_dim(dim, src) INTO zero;
        IF zero IS NOT NULL THEN
            EXECUTE format('DELETE FROM %I WHERE bucket = ANY($1) AND calls = 0', dim) USING zero;
        END IF;
    END LOOP;

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
-- Verify and rebuild (0005), now covering the dimension rollups as well.
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION spend_rollup_verify() RETURNS TABLE (rollup TEXT, key JSONB, stored JSONB, fresh JSONB)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    dim TEXT;
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
    dims CONSTANT TEXT[] := ARRAY['spend_hourly_coarse', 'spend_daily_user', 'spend_daily_repo'];
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
    FOREACH dim IN ARRAY dims LOOP
        RETURN QUERY EXECUTE format(
            compare, dim, format('SELECT * FROM %I WHERE bucket >= $1', dim),
            spend_rollup_aggregate_dim(dim, spend_rollup_input('agent_spend_logs', 1, 'WHERE r.ts >= $1')))
            USING spend_retention_horizon(), spend_rollup_keys(dim), spend_measures;
    END LOOP;
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
    dim TEXT;
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

    -- The dimension rollups from the hourly / daily rows just written, like the coarse one.
    FOREACH dim IN ARRAY ARRAY['spend_hourly_coarse', 'spend_daily_user', 'spend_daily_repo'] LOOP
        rollup := dim;
        EXECUTE format('DELETE FROM %I c WHERE c.bucket >= $1', dim) USING start_bucket;
        GET DIAGNOSTICS removed = ROW_COUNT;
        EXECUTE format('INSERT INTO %I SELECT * FROM (%s) a', dim,
                       spend_rollup_project(dim, format('SELECT * FROM %I d WHERE d.bucket >= $1',
                                                        CASE spend_rollup_grain(dim) WHEN 'hour' THEN 'spend_hourly'
                                                                                     ELSE 'spend_daily' END)))
            USING start_bucket;
        GET DIAGNOSTICS written = ROW_COUNT;
        RETURN NEXT;
    END LOOP;

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

-- Backfill: every bucket, history before the retention horizon included (its raw rows may
-- be gone, but spend_hourly and spend_daily kept it).
DO $$
DECLARE
    dim TEXT;
BEGIN
    FOREACH dim IN ARRAY ARRAY['spend_hourly_coarse', 'spend_daily_user', 'spend_daily_repo'] LOOP
        EXECUTE format('INSERT INTO %I SELECT * FROM (%s) a', dim,
                       spend_rollup_project(dim, CASE spend_rollup_grain(dim)
                                                     WHEN 'hour' THEN 'SELECT * FROM spend_hourly'
                                                     ELSE 'SELECT * FROM spend_daily' END));
    END LOOP;
END
$$;
ANALYZE spend_hourly_coarse;
ANALYZE spend_daily_user;
ANALYZE spend_daily_repo;

-- ---------------------------------------------------------------------------------------
-- Read model: views with dashboard column names (as 0004 / 0005)
-- ---------------------------------------------------------------------------------------

CREATE VIEW spend_by_hour_coarse AS
SELECT
    bucket,
    team,
    model,
    harness_name AS harness,
    environment,
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
FROM spend_hourly_coarse;

CREATE VIEW spend_by_day_user AS
SELECT
    bucket,
    user_id,
    team,
    model,
    environment,
    workspace_is_ci AS is_ci,
    (NOT workspace_is_ci AND user_id <> 'unknown') AS is_developer,
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
FROM spend_daily_user;

CREATE VIEW spend_by_day_repo AS
SELECT
    bucket,
    CASE WHEN workspace_repo = '' THEN '(none)' ELSE workspace_repo END AS repository,
    CASE WHEN workspace_branch = '' THEN '(none)' ELSE workspace_branch END AS branch,
    workspace_is_ci AS is_ci,
    team,
    environment,
    user_id,
    (NOT workspace_is_ci AND user_id <> 'unknown') AS is_developer,
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
FROM spend_daily_repo;

-- spend_row restricted to spend_daily_user's dimensions / spend_daily_repo's dimensions.
CREATE TYPE spend_user_row AS (
    user_id text, team text, model text, environment text, is_ci boolean, is_developer boolean,
    calls numeric, error_calls numeric, unpriced_calls numeric, long_context_calls numeric,
    input_tokens numeric, output_tokens numeric, cache_read_tokens numeric, cache_write_tokens numeric,
    reasoning_tokens numeric, prompt_tokens numeric, total_tokens numeric,
    cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric
);

CREATE TYPE spend_repo_row AS (
    user_id text, team text, repository text, branch text, environment text, is_ci boolean,
    is_developer boolean,
    calls numeric, error_calls numeric, unpriced_calls numeric, long_context_calls numeric,
    input_tokens numeric, output_tokens numeric, cache_read_tokens numeric, cache_write_tokens numeric,
    reasoning_tokens numeric, prompt_tokens numeric, total_tokens numeric,
    cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric
);

-- 0004's spend_between with the whole days from spend_daily_user: the same five disjoint
-- branches (raw edges, whole hours, whole days), the same boundaries.
CREATE FUNCTION spend_between_user(p_from timestamptz, p_to timestamptz) RETURNS SETOF spend_user_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.user_id, c.team, c.model, c.environment, c.is_ci, c.is_developer,
           1::numeric, (c.status = 'error')::int::numeric, c.is_unpriced::int::numeric,
           c.is_long_context::int::numeric, c.input_tokens::numeric, c.output_tokens::numeric,
           c.cache_read_tokens::numeric, c.cache_write_tokens::numeric, c.reasoning_tokens::numeric,
           c.prompt_tokens::numeric, c.total_tokens::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, coalesce(c.reported_cost_usd, 0)::numeric
    FROM spend_calls c
    WHERE c.ts >= (SELECT b.lo FROM spend_range_bounds(p_from, p_to) b)
      AND c.ts < (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b) AND c.ts <= p_to
    UNION ALL
    SELECT h.user_id, h.team, h.model, h.environment, h.is_ci, h.is_developer,
           h.calls, h.error_calls, h.unpriced_calls, h.long_context_calls,
           h.input_tokens, h.output_tokens, h.cache_read_tokens, h.cache_write_tokens, h.reasoning_tokens,
           h.prompt_tokens, h.total_tokens, h.cost_usd, h.list_cost_usd, h.reported_cost_usd
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.hourly_end FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT d.user_id, d.team, d.model, d.environment, d.is_ci, d.is_developer,
           d.calls, d.error_calls, d.unpriced_calls, d.long_context_calls,
           d.input_tokens, d.output_tokens, d.cache_read_tokens, d.cache_write_tokens, d.reasoning_tokens,
           d.prompt_tokens, d.total_tokens, d.cost_usd, d.list_cost_usd, d.reported_cost_usd
    FROM spend_by_day_user d
    WHERE d.bucket >= (SELECT b.ds FROM spend_range_bounds(p_from, p_to) b)
      AND d.bucket < (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT h.user_id, h.team, h.model, h.environment, h.is_ci, h.is_developer,
           h.calls, h.error_calls, h.unpriced_calls, h.long_context_calls,
           h.input_tokens, h.output_tokens, h.cache_read_tokens, h.cache_write_tokens, h.reasoning_tokens,
           h.prompt_tokens, h.total_tokens, h.cost_usd, h.list_cost_usd, h.reported_cost_usd
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.he FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT c.user_id, c.team, c.model, c.environment, c.is_ci, c.is_developer,
           1::numeric, (c.status = 'error')::int::numeric, c.is_unpriced::int::numeric,
           c.is_long_context::int::numeric, c.input_tokens::numeric, c.output_tokens::numeric,
           c.cache_read_tokens::numeric, c.cache_write_tokens::numeric, c.reasoning_tokens::numeric,
           c.prompt_tokens::numeric, c.total_tokens::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, coalesce(c.reported_cost_usd, 0)::numeric
    FROM spend_calls c
    WHERE c.ts >= (SELECT b.he FROM spend_range_bounds(p_from, p_to) b) AND c.ts <= p_to
$$;

-- The same with the whole days from spend_daily_repo.
CREATE FUNCTION spend_between_repo(p_from timestamptz, p_to timestamptz) RETURNS SETOF spend_repo_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.user_id, c.team, c.repository, c.branch, c.environment, c.is_ci, c.is_developer,
           1::numeric, (c.status = 'error')::int::numeric, c.is_unpriced::int::numeric,
           c.is_long_context::int::numeric, c.input_tokens::numeric, c.output_tokens::numeric,
           c.cache_read_tokens::numeric, c.cache_write_tokens::numeric, c.reasoning_tokens::numeric,
           c.prompt_tokens::numeric, c.total_tokens::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, coalesce(c.reported_cost_usd, 0)::numeric
    FROM spend_calls c
    WHERE c.ts >= (SELECT b.lo FROM spend_range_bounds(p_from, p_to) b)
      AND c.ts < (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b) AND c.ts <= p_to
    UNION ALL
    SELECT h.user_id, h.team, h.repository, h.branch, h.environment, h.is_ci, h.is_developer,
           h.calls, h.error_calls, h.unpriced_calls, h.long_context_calls,
           h.input_tokens, h.output_tokens, h.cache_read_tokens, h.cache_write_tokens, h.reasoning_tokens,
           h.prompt_tokens, h.total_tokens, h.cost_usd, h.list_cost_usd, h.reported_cost_usd
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.hourly_end FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT d.user_id, d.team, d.repository, d.branch, d.environment, d.is_ci, d.is_developer,
           d.calls, d.error_calls, d.unpriced_calls, d.long_context_calls,
           d.input_tokens, d.output_tokens, d.cache_read_tokens, d.cache_write_tokens, d.reasoning_tokens,
           d.prompt_tokens, d.total_tokens, d.cost_usd, d.list_cost_usd, d.reported_cost_usd
    FROM spend_by_day_repo d
    WHERE d.bucket >= (SELECT b.ds FROM spend_range_bounds(p_from, p_to) b)
      AND d.bucket < (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT h.user_id, h.team, h.repository, h.branch, h.environment, h.is_ci, h.is_developer,
           h.calls, h.error_calls, h.unpriced_calls, h.long_context_calls,
           h.input_tokens, h.output_tokens, h.cache_read_tokens, h.cache_write_tokens, h.reasoning_tokens,
           h.prompt_tokens, h.total_tokens, h.cost_usd, h.list_cost_usd, h.reported_cost_usd
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.he FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT c.user_id, c.team, c.repository, c.branch, c.environment, c.is_ci, c.is_developer,
           1::numeric, (c.status = 'error')::int::numeric, c.is_unpriced::int::numeric,
           c.is_long_context::int::numeric, c.input_tokens::numeric, c.output_tokens::numeric,
           c.cache_read_tokens::numeric, c.cache_write_tokens::numeric, c.reasoning_tokens::numeric,
           c.prompt_tokens::numeric, c.total_tokens::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, coalesce(c.reported_cost_usd, 0)::numeric
    FROM spend_calls c
    WHERE c.ts >= (SELECT b.he FROM spend_range_bounds(p_from, p_to) b) AND c.ts <= p_to
$$;

-- spend_filtered on spend_daily_user's dimensions. With the harness and repository filters
-- both on "All" it reads spend_between_user (which honours the other four), else
-- spend_filtered. The guards fold to constants for Grafana's literal arrays (see 0005).
CREATE FUNCTION spend_users(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS SETOF spend_user_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.user_id, s.team, s.model, s.environment, s.is_ci, s.is_developer,
           s.calls, s.error_calls, s.unpriced_calls, s.long_context_calls,
           s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.reasoning_tokens,
           s.prompt_tokens, s.total_tokens, s.cost_usd, s.list_cost_usd, s.reported_cost_usd
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    WHERE NOT ('__all' = ANY (p_harness) AND '__all' = ANY (p_repository))
    UNION ALL
    SELECT u.*
    FROM spend_between_user(p_from, p_to) u
    WHERE '__all' = ANY (p_harness) AND '__all' = ANY (p_repository)
      AND spend_dim_match(u.environment, p_environment) AND spend_dim_match(u.team, p_team)
      AND spend_dim_match(u.user_id, p_user) AND spend_dim_match(u.model, p_model)
$$;

-- spend_filtered on spend_daily_repo's dimensions: spend_between_repo with the model and
-- harness filters both on "All", else spend_filtered.
CREATE FUNCTION spend_repos(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS SETOF spend_repo_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.user_id, s.team, s.repository, s.branch, s.environment, s.is_ci, s.is_developer,
           s.calls, s.error_calls, s.unpriced_calls, s.long_context_calls,
           s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.reasoning_tokens,
           s.prompt_tokens, s.total_tokens, s.cost_usd, s.list_cost_usd, s.reported_cost_usd
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    WHERE NOT ('__all' = ANY (p_model) AND '__all' = ANY (p_harness))
    UNION ALL
    SELECT r.*
    FROM spend_between_repo(p_from, p_to) r
    WHERE '__all' = ANY (p_model) AND '__all' = ANY (p_harness)
      AND spend_dim_match(r.environment, p_environment) AND spend_dim_match(r.team, p_team)
      AND spend_dim_match(r.user_id, p_user) AND spend_dim_match(r.repository, p_repository)
$$;

-- Daily rows per identity for daily series (cost per active developer per day): buckets in
-- [p_from, p_to] like $__timeFilter(bucket), from spend_by_day_user when the harness and
-- repository filters are "All", else from spend_by_day with all six filters.
CREATE FUNCTION spend_user_days(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    bucket timestamptz, user_id text, team text, model text, is_developer boolean, calls numeric,
    cost_usd numeric, total_tokens numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT d.bucket, d.user_id, d.team, d.model, d.is_developer, d.calls::numeric, d.cost_usd, d.total_tokens
    FROM spend_by_day d
    WHERE NOT ('__all' = ANY (p_harness) AND '__all' = ANY (p_repository))
      AND d.bucket >= p_from AND d.bucket <= p_to
      AND spend_dim_match(d.environment, p_environment) AND spend_dim_match(d.team, p_team)
      AND spend_dim_match(d.user_id, p_user) AND spend_dim_match(d.model, p_model)
      AND spend_dim_match(d.harness, p_harness) AND spend_dim_match(d.repository, p_repository)
    UNION ALL
    SELECT u.bucket, u.user_id, u.team, u.model, u.is_developer, u.calls::numeric, u.cost_usd, u.total_tokens
    FROM spend_by_day_user u
    WHERE '__all' = ANY (p_harness) AND '__all' = ANY (p_repository)
      AND u.bucket >= p_from AND u.bucket <= p_to
      AND spend_dim_match(u.environment, p_environment) AND spend_dim_match(u.team, p_team)
      AND spend_dim_match(u.user_id, p_user) AND spend_dim_match(u.model, p_model)
$$;

-- Hourly rows for hourly series (cost per hour): buckets in [p_from, p_to], from
-- spend_by_hour_coarse when the user and repository filters are "All", else from
-- spend_by_hour with all six filters.
CREATE FUNCTION spend_hour_totals(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    bucket timestamptz, team text, model text, harness text, environment text, calls numeric,
    cost_usd numeric, list_cost_usd numeric, total_tokens numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT h.bucket, h.team, h.model, h.harness, h.environment, h.calls::numeric, h.cost_usd, h.list_cost_usd,
           h.total_tokens
    FROM spend_by_hour h
    WHERE NOT ('__all' = ANY (p_user) AND '__all' = ANY (p_repository))
      AND h.bucket >= p_from AND h.bucket <= p_to
      AND spend_dim_match(h.environment, p_environment) AND spend_dim_match(h.team, p_team)
      AND spend_dim_match(h.user_id, p_user) AND spend_dim_match(h.model, p_model)
      AND spend_dim_match(h.harness, p_harness) AND spend_dim_match(h.repository, p_repository)
    UNION ALL
    SELECT c.bucket, c.team, c.model, c.harness, c.environment, c.calls::numeric, c.cost_usd, c.list_cost_usd,
           c.total_tokens
    FROM spend_by_hour_coarse c
    WHERE '__all' = ANY (p_user) AND '__all' = ANY (p_repository)
      AND c.bucket >= p_from AND c.bucket <= p_to
      AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
      AND spend_dim_match(c.model, p_model) AND spend_dim_match(c.harness, p_harness)
$$;

-- ---------------------------------------------------------------------------------------
-- 0004 / 0005 summaries that need a user or a repository, now on spend_users / spend_repos.
-- Bodies as before otherwise; signatures and result columns unchanged. The distinct
-- developer counts of org_totals and team_summary first group per (user, is_developer), a
-- hash aggregate, instead of count(DISTINCT), which sorts every input row: the same number
-- (one group per developer, active if any of its rows has calls), the same developer cost.
-- ---------------------------------------------------------------------------------------

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
        SELECT count(*) FILTER (WHERE u.is_developer AND u.active) AS active_developers,
               sum(u.cost_usd) FILTER (WHERE u.is_developer) AS developer_cost_usd
        FROM (
            SELECT s.user_id, s.is_developer, bool_or(s.calls > 0) AS active, sum(s.cost_usd) AS cost_usd
            FROM spend_users(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
            GROUP BY s.user_id, s.is_developer
        ) u
    ) d ON true
$$;

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
        SELECT u.team, count(*) FILTER (WHERE u.is_developer AND u.active) AS active_developers,
               sum(u.cost_usd) FILTER (WHERE u.is_developer) AS developer_cost_usd
        FROM (
            SELECT s.team, s.user_id, s.is_developer, bool_or(s.calls > 0) AS active, sum(s.cost_usd) AS cost_usd
            FROM spend_users(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
            GROUP BY s.team, s.user_id, s.is_developer
        ) u
        GROUP BY u.team
    ) d ON d.team = t.team
$$;

CREATE OR REPLACE FUNCTION developer_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    user_id text, team text, is_developer boolean, cost_usd numeric, list_cost_usd numeric, calls numeric,
    error_calls numeric, total_tokens numeric, output_tokens numeric, cache_hit_ratio numeric,
    long_context_calls numeric, models bigint, top_model text, cost_share numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH per_model AS (
        SELECT s.user_id, s.team, s.model, bool_or(s.is_developer) AS is_developer,
               sum(s.cost_usd) AS cost_usd, sum(s.list_cost_usd) AS list_cost_usd, sum(s.calls) AS calls,
               sum(s.error_calls) AS error_calls, sum(s.total_tokens) AS total_tokens,
               sum(s.output_tokens) AS output_tokens, sum(s.cache_read_tokens) AS cache_read_tokens,
               sum(s.prompt_tokens) AS prompt_tokens, sum(s.long_context_calls) AS long_context_calls
        FROM spend_users(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.user_id, s.team, s.model
    )
    SELECT m.user_id, m.team, bool_or(m.is_developer), sum(m.cost_usd), sum(m.list_cost_usd), sum(m.calls),
           sum(m.error_calls), sum(m.total_tokens), sum(m.output_tokens),
           sum(m.cache_read_tokens) / nullif(sum(m.prompt_tokens), 0), sum(m.long_context_calls),
           count(*), (array_agg(m.model ORDER BY m.cost_usd DESC, m.calls DESC, m.model))[1],
           sum(m.cost_usd) / nullif(sum(sum(m.cost_usd)) OVER (), 0)
    FROM per_model m
    GROUP BY m.user_id, m.team
$$;

CREATE OR REPLACE FUNCTION long_context_requests(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    user_id text, team text, calls numeric, long_context_calls numeric, long_context_share numeric,
    cost_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.user_id, s.team, sum(s.calls), sum(s.long_context_calls),
           sum(s.long_context_calls) / nullif(sum(s.calls), 0), sum(s.cost_usd)
    FROM spend_users(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    GROUP BY s.user_id, s.team
$$;

CREATE OR REPLACE FUNCTION repository_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    repository text, branch text, cost_usd numeric, list_cost_usd numeric, calls numeric, developers bigint,
    ci_cost_usd numeric, interactive_cost_usd numeric, ci_cost_share numeric, total_tokens numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.repository, s.branch, sum(s.cost_usd), sum(s.list_cost_usd), sum(s.calls),
           count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0),
           coalesce(sum(s.cost_usd) FILTER (WHERE s.is_ci), 0),
           coalesce(sum(s.cost_usd) FILTER (WHERE NOT s.is_ci), 0),
           sum(s.cost_usd) FILTER (WHERE s.is_ci) / nullif(sum(s.cost_usd), 0),
           sum(s.total_tokens)
    FROM spend_repos(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    GROUP BY s.repository, s.branch
$$;

-- ---------------------------------------------------------------------------------------
-- Grants (see 0003, 0004 and 0005).
-- ---------------------------------------------------------------------------------------
GRANT SELECT ON spend_daily_user, spend_daily_repo, spend_hourly_coarse,
    spend_by_day_user, spend_by_day_repo, spend_by_hour_coarse TO agent_spend_reader;
GRANT USAGE ON TYPE spend_user_row, spend_repo_row TO agent_spend_reader;
GRANT EXECUTE ON FUNCTION
    spend_between_user(timestamptz, timestamptz),
    spend_between_repo(timestamptz, timestamptz),
    spend_users(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    spend_repos(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    spend_user_days(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    spend_hour_totals(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[])
TO agent_spend_reader;
