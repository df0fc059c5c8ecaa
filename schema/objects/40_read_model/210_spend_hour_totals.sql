-- Hourly rows for hourly series (cost per hour): buckets in [p_from, p_to]. Three exact
-- paths, the narrowest the filters allow: spend_by_hour_team with only environment / team
-- filters, spend_by_hour_coarse when a model or harness filter is set too, spend_by_hour
-- (all six filters) when a user or repository filter is set.
CREATE OR REPLACE FUNCTION spend_hour_totals(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    bucket timestamptz, team text, environment text, calls numeric, cost_usd numeric, list_cost_usd numeric,
    total_tokens numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT h.bucket, h.team, h.environment, h.calls::numeric, h.cost_usd, h.list_cost_usd, h.total_tokens
    FROM spend_by_hour h
    WHERE NOT ('__all' = ANY (p_user) AND '__all' = ANY (p_repository))
      AND h.bucket >= p_from AND h.bucket <= p_to
      AND spend_dim_match(h.environment, p_environment) AND spend_dim_match(h.team, p_team)
      AND spend_dim_match(h.user_id, p_user) AND spend_dim_match(h.model, p_model)
      AND spend_dim_match(h.harness, p_harness) AND spend_dim_match(h.repository, p_repository)
    UNION ALL
    SELECT c.bucket, c.team, c.environment, c.calls::numeric, c.cost_usd, c.list_cost_usd, c.total_tokens
    FROM spend_by_hour_coarse c
    WHERE '__all' = ANY (p_user) AND '__all' = ANY (p_repository)
      AND NOT ('__all' = ANY (p_model) AND '__all' = ANY (p_harness))
      AND c.bucket >= p_from AND c.bucket <= p_to
      AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
      AND spend_dim_match(c.model, p_model) AND spend_dim_match(c.harness, p_harness)
    UNION ALL
    SELECT t.bucket, t.team, t.environment, t.calls::numeric, t.cost_usd, t.list_cost_usd, t.total_tokens
    FROM spend_by_hour_team t
    WHERE '__all' = ANY (p_user) AND '__all' = ANY (p_repository)
      AND '__all' = ANY (p_model) AND '__all' = ANY (p_harness)
      AND t.bucket >= p_from AND t.bucket <= p_to
      AND spend_dim_match(t.environment, p_environment) AND spend_dim_match(t.team, p_team)
$$;
