-- spend_filtered without user, repository and branch columns. With the user and repository
-- filters both on "All" it reads spend_between_coarse, else spend_filtered (which can apply
-- them). Both guards are constants for Grafana's literal arrays, so the planner keeps one
-- branch and drops the other before execution; with parameters it decides once per run.
CREATE OR REPLACE FUNCTION spend_totals(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS SETOF spend_total_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.team, s.model, s.provider, s.harness, s.environment, s.cost_estimation, s.is_ci,
           s.calls, s.error_calls, s.unpriced_calls, s.long_context_calls,
           s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.reasoning_tokens,
           s.prompt_tokens, s.total_tokens, s.cost_usd, s.list_cost_usd, s.reported_cost_usd
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    WHERE NOT ('__all' = ANY (p_user) AND '__all' = ANY (p_repository))
    UNION ALL
    SELECT c.*
    FROM spend_between_coarse(p_from, p_to) c
    WHERE '__all' = ANY (p_user) AND '__all' = ANY (p_repository)
      AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
      AND spend_dim_match(c.model, p_model) AND spend_dim_match(c.harness, p_harness)
$$;
