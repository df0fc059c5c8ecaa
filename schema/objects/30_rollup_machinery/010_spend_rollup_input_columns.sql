-- The only columns of agent_spend_logs the rollups read; updates of others are free.
CREATE OR REPLACE FUNCTION spend_rollup_input_columns(alias TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(format('%I.%I', alias, c), ', ' ORDER BY i)
    FROM unnest(ARRAY[
        'ts', 'session_id', 'user_id', 'team', 'model', 'provider', 'harness_name', 'workspace_repo',
        'workspace_branch', 'environment', 'cost_estimation', 'workspace_is_ci', 'status', 'input_tokens',
        'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'total_cost_usd',
        'list_cost_usd', 'reported_cost_usd']) WITH ORDINALITY AS u (c, i)
$$;
