CREATE OR REPLACE FUNCTION model_cache_efficiency(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    model text, provider text, calls numeric, input_tokens numeric, output_tokens numeric,
    cache_read_tokens numeric, cache_write_tokens numeric, total_tokens numeric, cost_usd numeric,
    list_cost_usd numeric, cost_per_1k_output_usd numeric, list_cost_per_1k_output_usd numeric,
    cache_hit_ratio numeric, cache_saved_usd numeric, long_context_calls numeric,
    input_usd_per_mtok numeric, cache_read_usd_per_mtok numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH per_model AS (
        SELECT s.model, min(s.provider) AS provider, sum(s.calls) AS calls, sum(s.input_tokens) AS input_tokens,
               sum(s.output_tokens) AS output_tokens, sum(s.cache_read_tokens) AS cache_read_tokens,
               sum(s.cache_write_tokens) AS cache_write_tokens, sum(s.total_tokens) AS total_tokens,
               sum(s.prompt_tokens) AS prompt_tokens, sum(s.cost_usd) AS cost_usd,
               sum(s.list_cost_usd) AS list_cost_usd, sum(s.long_context_calls) AS long_context_calls
        FROM spend_totals(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.model
    )
    SELECT m.model, m.provider, m.calls, m.input_tokens, m.output_tokens, m.cache_read_tokens,
           m.cache_write_tokens, m.total_tokens, m.cost_usd, m.list_cost_usd,
           1000 * m.cost_usd / nullif(m.output_tokens, 0), 1000 * m.list_cost_usd / nullif(m.output_tokens, 0),
           m.cache_read_tokens / nullif(m.prompt_tokens, 0),
           m.cache_read_tokens * (p.usd_per_input_token - p.usd_per_cache_read_token),
           m.long_context_calls, 1e6 * p.usd_per_input_token, 1e6 * p.usd_per_cache_read_token
    FROM per_model m
    LEFT JOIN model_token_prices p ON p.model = m.model
$$;
