-- Pre-aggregated spend, maintained incrementally from agent_spend_logs (see triggers
-- below), so dashboards over months of history read thousands of rows, not millions.
-- Dimension columns are NOT NULL ('' for "none") so they can be part of the key.

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

-- =======================================================================================
-- Everything below maintains the tables above; dashboards only read the tables.
-- =======================================================================================

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

CREATE FUNCTION spend_retention_horizon() RETURNS TIMESTAMPTZ
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT horizon FROM retention_state), '-infinity'::timestamptz)
$$;

-- ---------------------------------------------------------------------------------------
-- Query-text builders. Transition tables are visible only inside the trigger function
-- itself, so the shared formulas are built as query text that the trigger EXECUTEs over
-- new_rows/old_rows and verify/rebuild EXECUTE over agent_spend_logs: every formula is
-- written once, so incremental and fresh aggregation cannot drift apart.
-- ---------------------------------------------------------------------------------------

-- The only columns of agent_spend_logs the rollups read; updates of others are free.
CREATE FUNCTION spend_rollup_input_columns(alias TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(format('%I.%I', alias, c), ', ' ORDER BY i)
    FROM unnest(ARRAY[
        'ts', 'session_id', 'user_id', 'team', 'model', 'provider', 'harness_name', 'workspace_repo',
        'workspace_branch', 'environment', 'cost_estimation', 'workspace_is_ci', 'status', 'input_tokens',
        'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'total_cost_usd',
        'list_cost_usd', 'reported_cost_usd']) WITH ORDINALITY AS u (c, i)
$$;

-- `SELECT <sign> AS sign, r.<inputs> FROM <rel> r <tail>`: +1 adds a row, -1 subtracts it.
CREATE FUNCTION spend_rollup_input(rel TEXT, sign INTEGER, tail TEXT DEFAULT '') RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('SELECT %s AS sign, %s FROM %s r %s', sign, spend_rollup_input_columns('r'), rel, tail)
$$;

-- Signed aggregation of an input query into spend_hourly-shaped rows (bucket at `grain`).
CREATE FUNCTION spend_rollup_aggregate(grain TEXT, src TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        SELECT date_trunc(%1$L, s.ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,
               s.user_id, s.team, s.model, s.provider, s.harness_name,
               coalesce(s.workspace_repo, '') AS workspace_repo,
               coalesce(s.workspace_branch, '') AS workspace_branch,
               s.environment, s.cost_estimation, s.workspace_is_ci,
               sum(s.sign) AS calls,
               sum(CASE WHEN s.status = 'error' THEN s.sign ELSE 0 END) AS error_calls,
               sum(CASE WHEN s.total_cost_usd IS NULL THEN s.sign ELSE 0 END) AS unpriced_calls,
               sum(CASE WHEN s.input_tokens + s.cache_read_tokens + s.cache_write_tokens > 200000
                        THEN s.sign ELSE 0 END) AS long_context_calls,
               sum(s.sign * s.input_tokens) AS input_tokens,
               sum(s.sign * s.output_tokens) AS output_tokens,
               sum(s.sign * s.cache_read_tokens) AS cache_read_tokens,
               sum(s.sign * s.cache_write_tokens) AS cache_write_tokens,
               sum(s.sign * s.reasoning_tokens) AS reasoning_tokens,
               sum(s.sign * coalesce(s.total_cost_usd, 0)) AS cost_usd,
               sum(s.sign * coalesce(s.list_cost_usd, 0)) AS list_cost_usd,
               sum(s.sign * coalesce(s.reported_cost_usd, 0)) AS reported_cost_usd
        FROM (%2$s) s
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11$q$, grain, src)
$$;

-- Adds the signed deltas of `src` into `tbl` (spend_hourly or spend_daily) and returns the
-- buckets where a row dropped to calls = 0 (to delete). The input is sorted by key, so
-- concurrent writers lock rollup rows in one global order and cannot deadlock; ON
-- CONFLICT DO UPDATE row-locks, so concurrent deltas to one key serialise, none is lost.
CREATE FUNCTION spend_rollup_upsert(tbl TEXT, grain TEXT, src TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        WITH up AS (
            INSERT INTO %1$I AS t
            SELECT * FROM (%2$s) a ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
            ON CONFLICT (bucket, user_id, team, model, provider, harness_name, workspace_repo,
                         workspace_branch, environment, cost_estimation, workspace_is_ci)
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
        tbl, spend_rollup_aggregate(grain, src))
$$;

-- One session-shaped row per call of an input query (additions only; signs are ignored).
CREATE FUNCTION session_rollup_partials(src TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        SELECT s.session_id, s.user_id, s.team, s.harness_name, coalesce(s.workspace_repo, '') AS workspace_repo,
               s.ts AS first_ts, s.ts AS last_ts, 1::bigint AS calls,
               (s.status = 'error')::int::bigint AS error_calls,
               (s.total_cost_usd IS NULL)::int::bigint AS unpriced_calls,
               s.input_tokens::numeric AS input_tokens, s.output_tokens::numeric AS output_tokens,
               s.cache_read_tokens::numeric AS cache_read_tokens,
               s.cache_write_tokens::numeric AS cache_write_tokens,
               coalesce(s.total_cost_usd, 0)::numeric AS cost_usd
        FROM (%s) s
        WHERE s.session_id IS NOT NULL$q$, src)
$$;

-- Combines session-shaped rows into one row per session, with the same rules as the ON
-- CONFLICT merge below: "combine all at once" equals "merge piece by piece".
CREATE FUNCTION session_rollup_combine(parts TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        SELECT p.session_id,
               coalesce(max(nullif(p.user_id, 'unknown')), 'unknown') AS user_id,
               coalesce(max(nullif(p.team, 'unknown')), 'unknown') AS team,
               coalesce(max(nullif(p.harness_name, 'unknown')), 'unknown') AS harness_name,
               max(p.workspace_repo) AS workspace_repo,
               min(p.first_ts) AS first_ts, max(p.last_ts) AS last_ts,
               sum(p.calls) AS calls, sum(p.error_calls) AS error_calls, sum(p.unpriced_calls) AS unpriced_calls,
               sum(p.input_tokens) AS input_tokens, sum(p.output_tokens) AS output_tokens,
               sum(p.cache_read_tokens) AS cache_read_tokens, sum(p.cache_write_tokens) AS cache_write_tokens,
               sum(p.cost_usd) AS cost_usd
        FROM (%s) p
        GROUP BY p.session_id$q$, parts)
$$;

-- Merges the calls of `src` into `tbl` (session_rollup, or session_archive on retention).
CREATE FUNCTION session_rollup_merge(tbl TEXT, src TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        INSERT INTO %1$I AS t
        SELECT * FROM (%2$s) c ORDER BY c.session_id
        ON CONFLICT (session_id) DO UPDATE SET
            user_id = coalesce(greatest(nullif(t.user_id, 'unknown'), nullif(EXCLUDED.user_id, 'unknown')),
                               'unknown'),
            team = coalesce(greatest(nullif(t.team, 'unknown'), nullif(EXCLUDED.team, 'unknown')), 'unknown'),
            harness_name = coalesce(greatest(nullif(t.harness_name, 'unknown'),
                                             nullif(EXCLUDED.harness_name, 'unknown')), 'unknown'),
            workspace_repo = greatest(t.workspace_repo, EXCLUDED.workspace_repo),
            first_ts = least(t.first_ts, EXCLUDED.first_ts),
            last_ts = greatest(t.last_ts, EXCLUDED.last_ts),
            calls = t.calls + EXCLUDED.calls,
            error_calls = t.error_calls + EXCLUDED.error_calls,
            unpriced_calls = t.unpriced_calls + EXCLUDED.unpriced_calls,
            input_tokens = t.input_tokens + EXCLUDED.input_tokens,
            output_tokens = t.output_tokens + EXCLUDED.output_tokens,
            cache_read_tokens = t.cache_read_tokens + EXCLUDED.cache_read_tokens,
            cache_write_tokens = t.cache_write_tokens + EXCLUDED.cache_write_tokens,
            cost_usd = t.cost_usd + EXCLUDED.cost_usd$q$,
        tbl, session_rollup_combine(session_rollup_partials(src)))
$$;

-- Sessions as they should be: pruned history (archive) combined with the remaining raw
-- rows. `ids` is an SQL expression of type text[]; NULL means every session.
CREATE FUNCTION session_rollup_expected(ids TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT session_rollup_combine(format(
        'SELECT * FROM session_archive a WHERE %1$s IS NULL OR a.session_id = ANY(%1$s) UNION ALL %2$s',
        ids,
        session_rollup_partials(spend_rollup_input(
            'agent_spend_logs', 1, format('WHERE %1$s IS NULL OR r.session_id = ANY(%1$s)', ids)))))
$$;

-- Replaces the given sessions (NULL: all) by their expected value. Callers hold a lock that
-- keeps writers from merging into session_rollup until they commit (SHARE ROW EXCLUSIVE
-- on session_rollup or agent_spend_logs): a writer whose rows this snapshot cannot see
-- then merges them on top of the replacement, so nothing is lost or counted twice.
CREATE FUNCTION session_rollup_recompute(ids TEXT[]) RETURNS TABLE (removed BIGINT, written BIGINT)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM session_rollup s WHERE ids IS NULL OR s.session_id = ANY(ids);
    GET DIAGNOSTICS removed = ROW_COUNT;
    EXECUTE format('INSERT INTO session_rollup SELECT * FROM (%s) e ORDER BY e.session_id',
                   session_rollup_expected('$1::text[]')) USING ids;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN NEXT;
END
$$;

-- ---------------------------------------------------------------------------------------
-- Incremental maintenance: statement-level triggers aggregating the transition tables.
-- ---------------------------------------------------------------------------------------
CREATE FUNCTION spend_rollup_trigger() RETURNS TRIGGER
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

    -- The same order in every transaction (hourly, daily, sessions) keeps lock order global.
    EXECUTE spend_rollup_upsert('spend_hourly', 'hour', src) INTO zero;
    IF zero IS NOT NULL THEN
        DELETE FROM spend_hourly WHERE bucket = ANY(zero) AND calls = 0;
    END IF;
    EXECUTE spend_rollup_upsert('spend_daily', 'day', src) INTO zero;
    IF zero IS NOT NULL THEN
        DELETE FROM spend_daily WHERE bucket = ANY(zero) AND calls = 0;
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

CREATE TRIGGER spend_rollup_insert AFTER INSERT ON agent_spend_logs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spend_rollup_trigger();
CREATE TRIGGER spend_rollup_update AFTER UPDATE ON agent_spend_logs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spend_rollup_trigger();
CREATE TRIGGER spend_rollup_delete AFTER DELETE ON agent_spend_logs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spend_rollup_trigger();

-- ---------------------------------------------------------------------------------------
-- Verify and rebuild (`agent-spend rollup verify|rebuild`), usable from psql as well.
-- ---------------------------------------------------------------------------------------

-- Every rollup row that differs from a fresh aggregation of the raw rows: spend buckets
-- from the retention horizon on, all sessions (archive + raw). Rows are JSON objects;
-- `stored` or `fresh` is NULL when the key exists on one side only.
CREATE FUNCTION spend_rollup_verify() RETURNS TABLE (rollup TEXT, key JSONB, stored JSONB, fresh JSONB)
LANGUAGE plpgsql STABLE AS $$
DECLARE
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
    RETURN QUERY EXECUTE format(compare, 'session_rollup', 'SELECT * FROM session_rollup',
                                session_rollup_expected('NULL::text[]'))
        USING spend_retention_horizon(), ARRAY['session_id'], session_measures;
END
$$;

-- Recomputes spend buckets from the UTC day of `since` (NULL: all) but never before the
-- retention horizon, and every session active since then, in the caller's transaction.
CREATE FUNCTION spend_rollup_rebuild(since TIMESTAMPTZ DEFAULT NULL)
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

-- Rows stored before this migration (the triggers only see new changes).
SELECT count(*) FROM spend_rollup_rebuild();

-- ---------------------------------------------------------------------------------------
-- Read-only group role for Grafana (`agent-spend reader-role` adds LOGIN members). It
-- reads rollups and the dashboards' views, never agent_spend_logs itself.
-- ---------------------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'agent_spend_reader') THEN
        BEGIN
            CREATE ROLE agent_spend_reader NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created concurrently by the migration of another database
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'the migrating role may not create roles'
                    USING HINT = 'have an administrator run CREATE ROLE agent_spend_reader NOLOGIN, then migrate again';
        END;
    END IF;
    -- Usually already granted to PUBLIC; explicit for hardened servers, best effort for
    -- migrating roles that do not own the database or schema.
    BEGIN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO agent_spend_reader', current_database());
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO agent_spend_reader', current_schema());
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'could not grant CONNECT/USAGE to agent_spend_reader: %', SQLERRM;
    END;
END
$$;

GRANT SELECT ON spend_hourly, spend_daily, session_rollup, retention_state TO agent_spend_reader;
