-- The key of spend_hourly and spend_daily, in table order: the grain every rollup derives from.
CREATE OR REPLACE FUNCTION spend_rollup_fine_keys() RETURNS TEXT[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['bucket', 'user_id', 'team', 'model', 'provider', 'harness_name', 'workspace_repo',
                 'workspace_branch', 'environment', 'cost_estimation', 'workspace_is_ci']
$$;
