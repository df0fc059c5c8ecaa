-- Signed aggregation of an input query into spend_hourly-shaped rows (bucket at `grain`).
CREATE OR REPLACE FUNCTION spend_rollup_aggregate(grain TEXT, src TEXT) RETURNS TEXT
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
               sum(CASE WHEN s.input_tokens + s.cache_read_tokens + s.cache_write_tokens > spend_long_context_threshold()
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
