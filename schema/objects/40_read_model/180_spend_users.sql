-- spend_filtered on spend_daily_user's dimensions. With the harness and repository filters
-- both on "All" it reads spend_between_user (which honours the other four), else
-- spend_filtered. The guards fold to constants for Grafana's literal arrays (see spend_totals).
CREATE OR REPLACE FUNCTION spend_users(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS SETOF spend_user_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.user_id, s.team, s.model, s.environment, s.is_ci, s.is_developer,
           s.calls, s.error_calls, s.unpriced_calls, s.long_context_calls,
           s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.reasoning_tokens,
           s.prompt_tokens, s.total_tokens, s.cost_usd, s.list_cost_usd, s.reported_cost_usd
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    WHERE NOT ('__all' = ANY (p_harness) AND '__all' = ANY (p_repository))
    UNION ALL
    SELECT u.*
    FROM spend_between_user(p_from, p_to) u
    WHERE '__all' = ANY (p_harness) AND '__all' = ANY (p_repository)
      AND spend_dim_match(u.environment, p_environment) AND spend_dim_match(u.team, p_team)
      AND spend_dim_match(u.user_id, p_user) AND spend_dim_match(u.model, p_model)
$$;
