-- Combines session-shaped rows into one row per session, with the same rules as the ON
-- CONFLICT merge below: "combine all at once" equals "merge piece by piece".
CREATE OR REPLACE FUNCTION session_rollup_combine(parts TEXT) RETURNS TEXT
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
