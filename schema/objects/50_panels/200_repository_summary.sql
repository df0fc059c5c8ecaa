-- Developers per branch are counted by grouping per (branch, user) first, a hash
-- aggregate, instead of count(DISTINCT), which sorted every input row. With a model or
-- harness filter (spend_daily_repo has neither) the rows come from spend_filtered.
CREATE OR REPLACE FUNCTION repository_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    repository text, branch text, cost_usd numeric, list_cost_usd numeric, calls numeric, developers bigint,
    ci_cost_usd numeric, interactive_cost_usd numeric, ci_cost_share numeric, total_tokens numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT u.repository, u.branch, sum(u.cost_usd), sum(u.list_cost_usd), sum(u.calls),
           count(*) FILTER (WHERE NOT u.is_ci AND u.user_id <> 'unknown' AND u.calls > 0),
           coalesce(sum(u.cost_usd) FILTER (WHERE u.is_ci), 0), coalesce(sum(u.cost_usd) FILTER (WHERE NOT u.is_ci), 0),
           sum(u.cost_usd) FILTER (WHERE u.is_ci) / nullif(sum(u.cost_usd), 0), sum(u.total_tokens)
    FROM (
        SELECT r.repository, r.branch, r.user_id, r.is_ci, sum(r.calls) AS calls, sum(r.cost_usd) AS cost_usd,
               sum(r.list_cost_usd) AS list_cost_usd, sum(r.total_tokens) AS total_tokens
        FROM (
            SELECT s.repository, s.branch, s.user_id, s.is_ci, s.calls, s.cost_usd, s.list_cost_usd, s.total_tokens
            FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
            WHERE NOT ('__all' = ANY (p_model) AND '__all' = ANY (p_harness))
            UNION ALL
            SELECT r.repository, r.branch, r.user_id, r.is_ci, r.calls, r.cost_usd, r.list_cost_usd, r.total_tokens
            FROM repository_rows(p_from, p_to) r
            WHERE '__all' = ANY (p_model) AND '__all' = ANY (p_harness)
              AND spend_dim_match(r.environment, p_environment) AND spend_dim_match(r.team, p_team)
              AND spend_dim_match(r.user_id, p_user) AND spend_dim_match(r.repository, p_repository)
        ) r
        GROUP BY r.repository, r.branch, r.user_id, r.is_ci
    ) u
    GROUP BY u.repository, u.branch
$$;
