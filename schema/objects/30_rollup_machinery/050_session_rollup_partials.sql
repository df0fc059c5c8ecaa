-- One session-shaped row per call of an input query (additions only; signs are ignored).
CREATE OR REPLACE FUNCTION session_rollup_partials(src TEXT) RETURNS TEXT
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
