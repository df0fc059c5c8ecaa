CREATE OR REPLACE FUNCTION pricing_gaps(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    model text, provider text, calls numeric, unpriced_calls numeric, total_tokens numeric, cost_usd numeric,
    list_cost_usd numeric, problem text
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT * FROM (
        SELECT s.model, min(s.provider), sum(s.calls), sum(s.unpriced_calls), sum(s.total_tokens), sum(s.cost_usd),
               sum(s.list_cost_usd),
               CASE
                   WHEN s.model = 'unknown' THEN 'model not reported'
                   WHEN sum(s.unpriced_calls) > 0 THEN 'calls without cost'
                   WHEN sum(s.list_cost_usd) = 0 AND sum(s.total_tokens) > 0 THEN 'no list price'
               END AS problem
        FROM spend_totals(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.model
    ) m
    WHERE m.problem IS NOT NULL
$$;
