-- spend_hourly-shaped rows (a query text) with their bucket truncated to `grain` (UTC), not
-- grouped: the insert trigger derives the daily and the registry's rollups from the batch's
-- hourly deltas through spend_rollup_project_keys / spend_rollup_project, which group.
-- Exact: an hour lies in one UTC day, and every measure is a sum.
CREATE OR REPLACE FUNCTION spend_rollup_rebucket(grain TEXT, fine TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        SELECT date_trunc(%1$L, h.bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,
               h.user_id, h.team, h.model, h.provider, h.harness_name, h.workspace_repo,
               h.workspace_branch, h.environment, h.cost_estimation, h.workspace_is_ci,
               h.calls, h.error_calls, h.unpriced_calls, h.long_context_calls, h.input_tokens,
               h.output_tokens, h.cache_read_tokens, h.cache_write_tokens, h.reasoning_tokens,
               h.cost_usd, h.list_cost_usd, h.reported_cost_usd
        FROM (%2$s) h$q$, grain, fine)
$$;
