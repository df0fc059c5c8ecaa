-- Test oracle, not schema: org_totals as schema/0004_views.sql first defined it, over
-- spend_filtered only (the raw and fine-rollup path). The live org_totals in schema/objects
-- must return exactly what this returns. Loaded by tests/support/rollups.py reference_function().
CREATE OR REPLACE FUNCTION pg_temp.ref_org_totals(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric, calls numeric, error_calls numeric,
    active_developers bigint, cost_per_active_developer_usd numeric, total_tokens numeric,
    input_tokens numeric, output_tokens numeric, cache_read_tokens numeric, cache_write_tokens numeric,
    cache_hit_ratio numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(sum(s.cost_usd), 0), coalesce(sum(s.list_cost_usd), 0), coalesce(sum(s.reported_cost_usd), 0),
           coalesce(sum(s.calls), 0), coalesce(sum(s.error_calls), 0),
           count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0),
           sum(s.cost_usd) FILTER (WHERE s.is_developer)
               / nullif(count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0), 0),
           coalesce(sum(s.total_tokens), 0), coalesce(sum(s.input_tokens), 0), coalesce(sum(s.output_tokens), 0),
           coalesce(sum(s.cache_read_tokens), 0), coalesce(sum(s.cache_write_tokens), 0),
           sum(s.cache_read_tokens) / nullif(sum(s.prompt_tokens), 0)
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
$$;
