CREATE OR REPLACE FUNCTION spend_by_cost_estimation(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    cost_estimation text, calls numeric, cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric,
    total_tokens numeric, list_cost_share numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.cost_estimation, sum(s.calls), sum(s.cost_usd), sum(s.list_cost_usd), sum(s.reported_cost_usd),
           sum(s.total_tokens), sum(s.list_cost_usd) / nullif(sum(sum(s.list_cost_usd)) OVER (), 0)
    FROM spend_totals(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    GROUP BY s.cost_estimation
$$;
