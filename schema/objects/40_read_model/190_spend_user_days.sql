-- Daily rows per identity for daily series (cost per active developer per day): buckets in
-- [p_from, p_to] like $__timeFilter(bucket), from spend_by_day_user when the harness and
-- repository filters are "All", else from spend_by_day with all six filters.
CREATE OR REPLACE FUNCTION spend_user_days(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    bucket timestamptz, user_id text, team text, model text, is_developer boolean, calls numeric,
    cost_usd numeric, total_tokens numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT d.bucket, d.user_id, d.team, d.model, d.is_developer, d.calls::numeric, d.cost_usd, d.total_tokens
    FROM spend_by_day d
    WHERE NOT ('__all' = ANY (p_harness) AND '__all' = ANY (p_repository))
      AND d.bucket >= p_from AND d.bucket <= p_to
      AND spend_dim_match(d.environment, p_environment) AND spend_dim_match(d.team, p_team)
      AND spend_dim_match(d.user_id, p_user) AND spend_dim_match(d.model, p_model)
      AND spend_dim_match(d.harness, p_harness) AND spend_dim_match(d.repository, p_repository)
    UNION ALL
    SELECT u.bucket, u.user_id, u.team, u.model, u.is_developer, u.calls::numeric, u.cost_usd, u.total_tokens
    FROM spend_by_day_user u
    WHERE '__all' = ANY (p_harness) AND '__all' = ANY (p_repository)
      AND u.bucket >= p_from AND u.bucket <= p_to
      AND spend_dim_match(u.environment, p_environment) AND spend_dim_match(u.team, p_team)
      AND spend_dim_match(u.user_id, p_user) AND spend_dim_match(u.model, p_model)
$$;
