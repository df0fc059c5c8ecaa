CREATE OR REPLACE FUNCTION spend_rollup_verify() RETURNS TABLE (rollup TEXT, key JSONB, stored JSONB, fresh JSONB)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    dim TEXT;
    spend_keys CONSTANT TEXT[] := spend_rollup_fine_keys();
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
