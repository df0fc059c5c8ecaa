-- Test oracle, not schema: repository_summary as schema/0004_views.sql first defined it, over
-- spend_filtered only (the raw and fine-rollup path). The live repository_summary in schema/objects
-- must return exactly what this returns. Loaded by tests/support/rollups.py reference_function().
CREATE OR REPLACE FUNCTION pg_temp.ref_repository_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    repository text, branch text, cost_usd numeric, list_cost_usd numeric, calls numeric, developers bigint,
    ci_cost_usd numeric, interactive_cost_usd numeric, ci_cost_share numeric, total_tokens numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.repository, s.branch, sum(s.cost_usd), sum(s.list_cost_usd), sum(s.calls),
           count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0),
           coalesce(sum(s.cost_usd) FILTER (WHERE s.is_ci), 0),
           coalesce(sum(s.cost_usd) FILTER (WHERE NOT s.is_ci), 0),
           sum(s.cost_usd) FILTER (WHERE s.is_ci) / nullif(sum(s.cost_usd), 0),
           sum(s.total_tokens)
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    GROUP BY s.repository, s.branch
$$;
