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
