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

-- 0006's key and grain lookups, now read from the registry. STABLE: the registry changes
-- only through migrations.
CREATE OR REPLACE FUNCTION spend_rollup_keys(tbl TEXT) RETURNS TEXT[]
LANGUAGE sql STABLE AS $$
    SELECT r.keys FROM spend_rollup_registry r WHERE r.rollup = tbl
$$;

CREATE OR REPLACE FUNCTION spend_rollup_grain(tbl TEXT) RETURNS TEXT
LANGUAGE sql STABLE AS $$
    SELECT r.grain FROM spend_rollup_registry r WHERE r.rollup = tbl
$$;

-- 0006's query-text builders call the two above, so they read the registry too.
ALTER FUNCTION spend_rollup_project(TEXT, TEXT) STABLE;
ALTER FUNCTION spend_rollup_aggregate_dim(TEXT, TEXT) STABLE;
ALTER FUNCTION spend_rollup_upsert_dim(TEXT, TEXT) STABLE;

-- The derived rollups in maintenance order.
CREATE FUNCTION spend_rollup_derived() RETURNS TEXT[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(r.rollup ORDER BY r.position) FROM spend_rollup_registry r
$$;

-- ---------------------------------------------------------------------------------------
-- Trigger, verify and rebuild over the registry (bodies as in 0006 otherwise).
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

    -- The same order in every transaction (hourly, daily, the registry by position,
    -- sessions) keeps the lock order global.
    EXECUTE spend_rollup_upsert('spend_hourly', 'hour', src) INTO zero;
    IF zero IS NOT NULL THEN
        DELETE FROM spend_hourly WHERE bucket = ANY(zero) AND calls = 0;
    END IF;
    EXECUTE spend_rollup_upsert('spend_daily', 'day', src) INTO zero;
    IF zero IS NOT NULL THEN
        DELETE FROM spend_daily WHERE bucket = ANY(zero) AND calls = 0;
    END IF;
    FOREACH dim IN ARRAY spend_rollup_derived() LOOP
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

CREATE OR REPLACE FUNCTION spend_rollup_verify() RETURNS TABLE (rollup TEXT, key JSONB, stored JSONB, fresh JSONB)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    dim TEXT;
    spend_keys CONSTANT TEXT[] := ARRAY['bucket', 'user_id', 'team', 'model', 'provider', 'harness_name',
                                        'workspace_repo', 'workspace_branch', 'environment', 'cost_estimation',
                                        'workspace_is_ci'];
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
    FOREACH dim IN ARRAY spend_rollup_derived() LOOP
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
    grain TEXT;
BEGIN
    -- Waits for running writers and blocks new ones (and other rebuilds) until commit, so
    -- raw rows and rollups cannot change between the delete and the re-aggregation.
    LOCK TABLE agent_spend_logs IN SHARE ROW EXCLUSIVE MODE;
    start_bucket := greatest(start_day, spend_retention_horizon());

    FOREACH grain IN ARRAY ARRAY['hour', 'day'] LOOP
        rollup := 'spend_' || CASE grain WHEN 'hour' THEN 'hourly' ELSE 'daily' END;
        EXECUTE format('DELETE FROM %I r WHERE r.bucket >= $1', rollup) USING start_bucket;
        GET DIAGNOSTICS removed = ROW_COUNT;
        EXECUTE format('INSERT INTO %I SELECT * FROM (%s) a', rollup,
                       spend_rollup_aggregate(grain, spend_rollup_input('agent_spend_logs', 1, 'WHERE r.ts >= $1')))
            USING start_bucket;
        GET DIAGNOSTICS written = ROW_COUNT;
        RETURN NEXT;
    END LOOP;

    -- The derived rollups from the hourly / daily rows just written: the same result as
    -- aggregating the raw rows again.
    FOREACH dim IN ARRAY spend_rollup_derived() LOOP
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

-- Backfill: every hour, history before the retention horizon included (spend_hourly kept it).
INSERT INTO spend_hourly_team
SELECT h.bucket, h.team, h.environment,
       sum(h.calls)::bigint, sum(h.error_calls)::bigint, sum(h.unpriced_calls)::bigint,
       sum(h.long_context_calls)::bigint, sum(h.input_tokens), sum(h.output_tokens), sum(h.cache_read_tokens),
       sum(h.cache_write_tokens), sum(h.reasoning_tokens), sum(h.cost_usd), sum(h.list_cost_usd),
       sum(h.reported_cost_usd)
FROM spend_hourly h
GROUP BY 1, 2, 3;
ANALYZE spend_hourly_team;

-- The 0005 helpers only the old trigger, verify and rebuild called (the generic
-- spend_rollup_project / _aggregate_dim / _upsert_dim now serve spend_daily_coarse).
DROP FUNCTION spend_rollup_upsert_coarse(TEXT);
DROP FUNCTION spend_rollup_aggregate_coarse(TEXT);
DROP FUNCTION spend_rollup_coarsen(TEXT);

-- ---------------------------------------------------------------------------------------
-- Read model
-- ---------------------------------------------------------------------------------------

CREATE VIEW spend_by_hour_team AS
SELECT
    bucket,
    team,
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
FROM spend_hourly_team;

-- Hourly rows for hourly series (cost per hour): buckets in [p_from, p_to]. Three exact
-- paths, the narrowest the filters allow: spend_by_hour_team with only environment / team
-- filters, spend_by_hour_coarse when a model or harness filter is set too, spend_by_hour
-- (all six filters) when a user or repository filter is set.
DROP FUNCTION spend_hour_totals(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]);
CREATE FUNCTION spend_hour_totals(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    bucket timestamptz, team text, environment text, calls numeric, cost_usd numeric, list_cost_usd numeric,
    total_tokens numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT h.bucket, h.team, h.environment, h.calls::numeric, h.cost_usd, h.list_cost_usd, h.total_tokens
    FROM spend_by_hour h
    WHERE NOT ('__all' = ANY (p_user) AND '__all' = ANY (p_repository))
      AND h.bucket >= p_from AND h.bucket <= p_to
      AND spend_dim_match(h.environment, p_environment) AND spend_dim_match(h.team, p_team)
      AND spend_dim_match(h.user_id, p_user) AND spend_dim_match(h.model, p_model)
      AND spend_dim_match(h.harness, p_harness) AND spend_dim_match(h.repository, p_repository)
    UNION ALL
    SELECT c.bucket, c.team, c.environment, c.calls::numeric, c.cost_usd, c.list_cost_usd, c.total_tokens
    FROM spend_by_hour_coarse c
    WHERE '__all' = ANY (p_user) AND '__all' = ANY (p_repository)
      AND NOT ('__all' = ANY (p_model) AND '__all' = ANY (p_harness))
      AND c.bucket >= p_from AND c.bucket <= p_to
      AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
      AND spend_dim_match(c.model, p_model) AND spend_dim_match(c.harness, p_harness)
    UNION ALL
    SELECT t.bucket, t.team, t.environment, t.calls::numeric, t.cost_usd, t.list_cost_usd, t.total_tokens
    FROM spend_by_hour_team t
    WHERE '__all' = ANY (p_user) AND '__all' = ANY (p_repository)
      AND '__all' = ANY (p_model) AND '__all' = ANY (p_harness)
      AND t.bucket >= p_from AND t.bucket <= p_to
      AND spend_dim_match(t.environment, p_environment) AND spend_dim_match(t.team, p_team)
$$;

-- Developers' own daily cost over that day's active developers (a developer is active on
-- a day with a call): one row per day with data, buckets in [p_from, p_to] like
-- $__timeFilter(bucket). Grouping per (day, user) first replaces a count(DISTINCT).
CREATE FUNCTION developer_cost_per_day(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (bucket timestamptz, active_developers bigint, developer_cost_usd numeric,
                 cost_per_developer_usd numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT u.bucket, count(*) FILTER (WHERE u.active), sum(u.cost_usd),
           sum(u.cost_usd) / nullif(count(*) FILTER (WHERE u.active), 0)
    FROM (
        SELECT d.bucket, d.user_id, bool_or(d.calls > 0) AS active, sum(d.cost_usd) AS cost_usd
        FROM spend_user_days(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) d
        WHERE d.is_developer
        GROUP BY d.bucket, d.user_id
    ) u
    GROUP BY u.bucket
$$;

-- The rows repository_summary aggregates, with only the measures it shows: 0006's
-- spend_between_repo carried all fourteen through the UNION and spilled at the default
-- work_mem. Same five disjoint branches and boundaries as spend_between; the whole days
-- are summed per key inside their branch (90 daily rows per key become one).
CREATE FUNCTION repository_rows(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (repository text, branch text, user_id text, team text, environment text, is_ci boolean,
               calls numeric, cost_usd numeric, list_cost_usd numeric, total_tokens numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.repository, c.branch, c.user_id, c.team, c.environment, c.is_ci, 1::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, c.total_tokens::numeric
    FROM spend_calls c
    WHERE c.ts >= (SELECT b.lo FROM spend_range_bounds(p_from, p_to) b)
      AND c.ts < (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b) AND c.ts <= p_to
    UNION ALL
    SELECT h.repository, h.branch, h.user_id, h.team, h.environment, h.is_ci, h.calls, h.cost_usd,
           h.list_cost_usd, h.total_tokens
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.hourly_end FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT CASE WHEN d.workspace_repo = '' THEN '(none)' ELSE d.workspace_repo END,
           CASE WHEN d.workspace_branch = '' THEN '(none)' ELSE d.workspace_branch END,
           d.user_id, d.team, d.environment, d.workspace_is_ci, sum(d.calls), sum(d.cost_usd),
           sum(d.list_cost_usd), sum(d.input_tokens + d.cache_read_tokens + d.cache_write_tokens + d.output_tokens)
    FROM spend_daily_repo d
    WHERE d.bucket >= (SELECT b.ds FROM spend_range_bounds(p_from, p_to) b)
      AND d.bucket < (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
    GROUP BY d.workspace_repo, d.workspace_branch, d.user_id, d.team, d.environment, d.workspace_is_ci
    UNION ALL
    SELECT h.repository, h.branch, h.user_id, h.team, h.environment, h.is_ci, h.calls, h.cost_usd,
           h.list_cost_usd, h.total_tokens
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.he FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT c.repository, c.branch, c.user_id, c.team, c.environment, c.is_ci, 1::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, c.total_tokens::numeric
    FROM spend_calls c
    WHERE c.ts >= (SELECT b.he FROM spend_range_bounds(p_from, p_to) b) AND c.ts <= p_to
$$;

-- Developers per branch are counted by grouping per (branch, user) first, a hash
-- aggregate, instead of count(DISTINCT), which sorted every input row. With a model or
-- harness filter (spend_daily_repo has neither) the rows come from spend_filtered.
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
    SELECT u.repository, u.branch, sum(u.cost_usd), sum(u.list_cost_usd), sum(u.calls),
           count(*) FILTER (WHERE NOT u.is_ci AND u.user_id <> 'unknown' AND u.calls > 0),
           coalesce(sum(u.cost_usd) FILTER (WHERE u.is_ci), 0), coalesce(sum(u.cost_usd) FILTER (WHERE NOT u.is_ci), 0),
           sum(u.cost_usd) FILTER (WHERE u.is_ci) / nullif(sum(u.cost_usd), 0), sum(u.total_tokens)
    FROM (
        SELECT r.repository, r.branch, r.user_id, r.is_ci, sum(r.calls) AS calls, sum(r.cost_usd) AS cost_usd,
               sum(r.list_cost_usd) AS list_cost_usd, sum(r.total_tokens) AS total_tokens
        FROM (
            SELECT s.repository, s.branch, s.user_id, s.is_ci, s.calls, s.cost_usd, s.list_cost_usd, s.total_tokens
            FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
            WHERE NOT ('__all' = ANY (p_model) AND '__all' = ANY (p_harness))
            UNION ALL
            SELECT r.repository, r.branch, r.user_id, r.is_ci, r.calls, r.cost_usd, r.list_cost_usd, r.total_tokens
            FROM repository_rows(p_from, p_to) r
            WHERE '__all' = ANY (p_model) AND '__all' = ANY (p_harness)
              AND spend_dim_match(r.environment, p_environment) AND spend_dim_match(r.team, p_team)
              AND spend_dim_match(r.user_id, p_user) AND spend_dim_match(r.repository, p_repository)
        ) r
        GROUP BY r.repository, r.branch, r.user_id, r.is_ci
    ) u
    GROUP BY u.repository, u.branch
$$;

-- Only 0006's repository_summary read these (spend_by_day_repo through spend_between_repo).
DROP FUNCTION spend_repos(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]);
DROP FUNCTION spend_between_repo(timestamptz, timestamptz);
DROP TYPE spend_repo_row;
DROP VIEW spend_by_day_repo;

-- 0004's cache sequence panels with a narrow sort: the window needs session, model, time
-- and a few numbers; identity columns are compared as bytes ("C"), which sorts on
-- abbreviated keys. The result rows are those of 0004 (min() of identity columns is the
-- same under byte order for UTF-8 C/C.UTF-8 databases; other collations may pick another
-- of a session's several users or teams, which is the rare case anyway).
CREATE OR REPLACE FUNCTION cache_writes_unread(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}',
    p_ttl interval DEFAULT '5 minutes'
) RETURNS TABLE (
    session_id text, user_id text, team text, model text, harness text, repository text,
    cache_writes bigint, unread_writes bigint, unread_write_tokens numeric, unread_write_cost_usd numeric,
    last_unread_at timestamptz
)
LANGUAGE sql STABLE PARALLEL SAFE
SET work_mem = '64MB'  -- sorts every call of the window: keep it in memory
AS $$
    WITH calls AS (
        SELECT c.session_id COLLATE "C" AS session_id, c.model COLLATE "C" AS model, c.ts,
               c.user_id COLLATE "C" AS user_id, c.team COLLATE "C" AS team, c.harness COLLATE "C" AS harness,
               c.repository COLLATE "C" AS repository, c.cache_write_tokens, c.cache_write_cost_usd,
               c.cache_read_tokens
        FROM calls_filtered(p_from, p_to + p_ttl, p_environment, p_team, p_user, p_model, p_harness,
                            p_repository) c
        WHERE c.session_id IS NOT NULL
    ), judged AS (
        SELECT calls.*, cache_write_tokens > 0
                        AND (lead(ts) OVER w IS NULL OR lead(ts) OVER w > ts + p_ttl
                             OR lead(cache_read_tokens) OVER w = 0) AS unread
        FROM calls
        WINDOW w AS (PARTITION BY session_id, model ORDER BY ts)
    )
    SELECT j.session_id, min(j.user_id), min(j.team), j.model, min(j.harness), min(j.repository),
           count(*) FILTER (WHERE j.cache_write_tokens > 0), count(*) FILTER (WHERE j.unread),
           sum(j.cache_write_tokens) FILTER (WHERE j.unread), sum(j.cache_write_cost_usd) FILTER (WHERE j.unread),
           max(j.ts) FILTER (WHERE j.unread)
    FROM judged j
    WHERE j.ts <= p_to
    GROUP BY j.session_id, j.model
    HAVING count(*) FILTER (WHERE j.unread) > 0
$$;

CREATE OR REPLACE FUNCTION cache_busting_sessions(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}',
    p_drop numeric DEFAULT 0.5, p_min_prompt_tokens bigint DEFAULT 4096
) RETURNS TABLE (
    session_id text, user_id text, team text, model text, harness text, repository text, calls bigint,
    busts bigint, first_bust_at timestamptz, busted_prompt_tokens numeric, cost_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
SET work_mem = '64MB'  -- sorts every call of the window: keep it in memory
AS $$
    WITH calls AS (
        SELECT c.session_id COLLATE "C" AS session_id, c.model COLLATE "C" AS model, c.ts,
               c.user_id COLLATE "C" AS user_id, c.team COLLATE "C" AS team, c.harness COLLATE "C" AS harness,
               c.repository COLLATE "C" AS repository, c.prompt_tokens, c.cost_usd,
               c.cache_read_tokens::numeric / nullif(c.prompt_tokens, 0) AS share
        FROM calls_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) c
        WHERE c.session_id IS NOT NULL
    ), judged AS (
        SELECT calls.*, coalesce(lag(share) OVER w >= p_drop AND share <= lag(share) OVER w - p_drop
                                 AND prompt_tokens >= p_min_prompt_tokens, false) AS busted
        FROM calls
        WINDOW w AS (PARTITION BY session_id, model ORDER BY ts)
    )
    SELECT j.session_id, min(j.user_id), min(j.team), j.model, min(j.harness), min(j.repository), count(*),
           count(*) FILTER (WHERE j.busted), min(j.ts) FILTER (WHERE j.busted),
           sum(j.prompt_tokens) FILTER (WHERE j.busted), sum(j.cost_usd)
    FROM judged j
    GROUP BY j.session_id, j.model
    HAVING count(*) FILTER (WHERE j.busted) > 0
$$;

-- 0004's arrival-delay percentiles over float8 epochs (date_part) instead of NUMERIC ones
-- (extract) cast to float8: the same seconds to the microsecond, a quarter faster over a
-- day of raw calls.
CREATE OR REPLACE FUNCTION arrival_delay_stats(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    rows bigint, p50_s double precision, p95_s double precision, p99_s double precision, max_s double precision,
    late_rows bigint
)
LANGUAGE sql STABLE PARALLEL SAFE
SET work_mem = '64MB'  -- sorts every call of the window: keep it in memory
AS $$
    SELECT d.rows, d.p[1], d.p[2], d.p[3], d.max_s, d.late_rows
    FROM (
        SELECT count(*) AS rows,
               percentile_cont(ARRAY[0.5, 0.95, 0.99])
                   WITHIN GROUP (ORDER BY date_part('epoch', c.ingest_ts - c.ts)) AS p,
               max(date_part('epoch', c.ingest_ts - c.ts)) AS max_s,
               count(*) FILTER (WHERE c.ingest_ts - c.ts > interval '5 minutes') AS late_rows
        FROM spend_calls c
        WHERE c.ingest_ts >= p_from AND c.ingest_ts <= p_to
          AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
          AND spend_dim_match(c.user_id, p_user) AND spend_dim_match(c.model, p_model)
          AND spend_dim_match(c.harness, p_harness) AND spend_dim_match(c.repository, p_repository)
    ) d
$$;

-- ---------------------------------------------------------------------------------------
-- Grants (see 0003-0006).
-- ---------------------------------------------------------------------------------------
GRANT SELECT ON spend_hourly_team, spend_by_hour_team TO agent_spend_reader;
GRANT EXECUTE ON FUNCTION
    spend_hour_totals(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    repository_rows(timestamptz, timestamptz),
    developer_cost_per_day(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[])
TO agent_spend_reader;
