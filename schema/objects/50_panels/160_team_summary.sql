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
    -- One read of the per-user rollups (spend_users) answers both the team's sums and its
    -- developers: the sums are the same exact NUMERIC totals spend_totals would give, and
    -- reading one rollup instead of two halves the rows aggregated (the Teams panel at 10 M
    -- calls over 90 days: ~100 ms -> ~60 ms).
    SELECT u.team, sum(u.cost_usd), sum(u.list_cost_usd), sum(u.calls),
           count(*) FILTER (WHERE u.is_developer AND u.active),
           sum(u.cost_usd) FILTER (WHERE u.is_developer)
               / nullif(count(*) FILTER (WHERE u.is_developer AND u.active), 0),
           sum(u.total_tokens), sum(u.cache_read_tokens) / nullif(sum(u.prompt_tokens), 0),
           sum(u.cost_usd) / nullif(sum(sum(u.cost_usd)) OVER (), 0)
    FROM (
        SELECT s.team, s.user_id, s.is_developer, bool_or(s.calls > 0) AS active, sum(s.cost_usd) AS cost_usd,
               sum(s.list_cost_usd) AS list_cost_usd, sum(s.calls) AS calls, sum(s.total_tokens) AS total_tokens,
               sum(s.cache_read_tokens) AS cache_read_tokens, sum(s.prompt_tokens) AS prompt_tokens
        FROM spend_users(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.team, s.user_id, s.is_developer
    ) u
    GROUP BY u.team
$$;
