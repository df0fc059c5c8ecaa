-- Raw calls in [p_from, p_to] narrowed by the six dashboard filters.
CREATE OR REPLACE FUNCTION calls_filtered(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS SETOF spend_calls
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.*
    FROM spend_calls c
    WHERE c.ts >= p_from AND c.ts <= p_to
      AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
      AND spend_dim_match(c.user_id, p_user) AND spend_dim_match(c.model, p_model)
      AND spend_dim_match(c.harness, p_harness) AND spend_dim_match(c.repository, p_repository)
$$;
