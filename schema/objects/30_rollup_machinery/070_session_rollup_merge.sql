-- Merges the calls of `src` into `tbl` (session_rollup, or session_archive on retention).
CREATE OR REPLACE FUNCTION session_rollup_merge(tbl TEXT, src TEXT) RETURNS TEXT
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
