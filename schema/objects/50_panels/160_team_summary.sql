CREATE OR REPLACE FUNCTION team_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    team text, cost_usd numeric, list_cost_usd numeric, calls numeric, active_developers bigint,
    cost_per_active_developer_usd numeric, total_tokens numeric, cache_hit_ratio numeric, cost_share numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT t.team, t.cost_usd, t.list_cost_usd, t.calls, coalesce(d.active_developers, 0),
           d.developer_cost_usd / nullif(d.active_developers, 0), t.total_tokens,
           t.cache_read_tokens / nullif(t.prompt_tokens, 0), t.cost_usd / nullif(sum(t.cost_usd) OVER (), 0)
    FROM (
        SELECT s.team, sum(s.cost_usd) AS cost_usd, sum(s.list_cost_usd) AS list_cost_usd, sum(s.calls) AS calls,
               sum(s.total_tokens) AS total_tokens, sum(s.cache_read_tokens) AS cache_read_tokens,
               sum(s.prompt_tokens) AS prompt_tokens
        FROM spend_totals(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.team
    ) t
    LEFT JOIN (
        SELECT u.team, count(*) FILTER (WHERE u.is_developer AND u.active) AS active_developers,
               sum(u.cost_usd) FILTER (WHERE u.is_developer) AS developer_cost_usd
        FROM (
            SELECT s.team, s.user_id, s.is_developer, bool_or(s.calls > 0) AS active, sum(s.cost_usd) AS cost_usd
            FROM spend_users(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
            GROUP BY s.team, s.user_id, s.is_developer
        ) u
        GROUP BY u.team
    ) d ON d.team = t.team
$$;
