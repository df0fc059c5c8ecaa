-- Test oracle, not schema: developer_summary as schema/0004_views.sql first defined it, over
-- spend_filtered only (the raw and fine-rollup path). The live developer_summary in schema/objects
-- must return exactly what this returns. Loaded by tests/support/rollups.py reference_function().
CREATE OR REPLACE FUNCTION pg_temp.ref_developer_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    user_id text, team text, is_developer boolean, cost_usd numeric, list_cost_usd numeric, calls numeric,
    error_calls numeric, total_tokens numeric, output_tokens numeric, cache_hit_ratio numeric,
    long_context_calls numeric, models bigint, top_model text, cost_share numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH per_model AS (
        SELECT s.user_id, s.team, s.model, bool_or(s.is_developer) AS is_developer,
               sum(s.cost_usd) AS cost_usd, sum(s.list_cost_usd) AS list_cost_usd, sum(s.calls) AS calls,
               sum(s.error_calls) AS error_calls, sum(s.total_tokens) AS total_tokens,
               sum(s.output_tokens) AS output_tokens, sum(s.cache_read_tokens) AS cache_read_tokens,
               sum(s.prompt_tokens) AS prompt_tokens, sum(s.long_context_calls) AS long_context_calls
        FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.user_id, s.team, s.model
    )
    SELECT m.user_id, m.team, bool_or(m.is_developer), sum(m.cost_usd), sum(m.list_cost_usd), sum(m.calls),
           sum(m.error_calls), sum(m.total_tokens), sum(m.output_tokens),
           sum(m.cache_read_tokens) / nullif(sum(m.prompt_tokens), 0), sum(m.long_context_calls),
           count(*), (array_agg(m.model ORDER BY m.cost_usd DESC, m.calls DESC, m.model))[1],
           sum(m.cost_usd) / nullif(sum(sum(m.cost_usd)) OVER (), 0)
    FROM per_model m
    GROUP BY m.user_id, m.team
$$;
