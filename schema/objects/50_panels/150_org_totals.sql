CREATE OR REPLACE FUNCTION org_totals(
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
    SELECT t.cost_usd, t.list_cost_usd, t.reported_cost_usd, t.calls, t.error_calls,
           d.active_developers, d.developer_cost_usd / nullif(d.active_developers, 0),
           t.total_tokens, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_tokens,
           t.cache_hit_ratio
    FROM (
        SELECT coalesce(sum(s.cost_usd), 0) AS cost_usd, coalesce(sum(s.list_cost_usd), 0) AS list_cost_usd,
               coalesce(sum(s.reported_cost_usd), 0) AS reported_cost_usd, coalesce(sum(s.calls), 0) AS calls,
               coalesce(sum(s.error_calls), 0) AS error_calls, coalesce(sum(s.total_tokens), 0) AS total_tokens,
               coalesce(sum(s.input_tokens), 0) AS input_tokens, coalesce(sum(s.output_tokens), 0) AS output_tokens,
               coalesce(sum(s.cache_read_tokens), 0) AS cache_read_tokens,
               coalesce(sum(s.cache_write_tokens), 0) AS cache_write_tokens,
               sum(s.cache_read_tokens) / nullif(sum(s.prompt_tokens), 0) AS cache_hit_ratio
        FROM spend_totals(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    ) t
    LEFT JOIN (
        SELECT count(*) FILTER (WHERE u.is_developer AND u.active) AS active_developers,
               sum(u.cost_usd) FILTER (WHERE u.is_developer) AS developer_cost_usd
        FROM (
            SELECT s.user_id, s.is_developer, bool_or(s.calls > 0) AS active, sum(s.cost_usd) AS cost_usd
            FROM spend_users(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
            GROUP BY s.user_id, s.is_developer
        ) u
    ) d ON true
$$;
