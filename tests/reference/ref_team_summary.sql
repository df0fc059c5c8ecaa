-- Test oracle, not schema: team_summary as schema/0004_views.sql first defined it, over
-- spend_filtered only (the raw and fine-rollup path). The live team_summary in schema/objects
-- must return exactly what this returns. Loaded by tests/support/rollups.py reference_function().
CREATE OR REPLACE FUNCTION pg_temp.ref_team_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    team text, cost_usd numeric, list_cost_usd numeric, calls numeric, active_developers bigint,
    cost_per_active_developer_usd numeric, total_tokens numeric, cache_hit_ratio numeric, cost_share numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.team, sum(s.cost_usd), sum(s.list_cost_usd), sum(s.calls),
           count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0),
           sum(s.cost_usd) FILTER (WHERE s.is_developer)
               / nullif(count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0), 0),
           sum(s.total_tokens), sum(s.cache_read_tokens) / nullif(sum(s.prompt_tokens), 0),
           sum(s.cost_usd) / nullif(sum(sum(s.cost_usd)) OVER (), 0)
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    GROUP BY s.team
$$;
