-- spend_between narrowed by the six dashboard filters; the base of every ranged summary.
CREATE OR REPLACE FUNCTION spend_filtered(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS SETOF spend_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.*
    FROM spend_between(p_from, p_to) s
    WHERE spend_dim_match(s.environment, p_environment) AND spend_dim_match(s.team, p_team)
      AND spend_dim_match(s.user_id, p_user) AND spend_dim_match(s.model, p_model)
      AND spend_dim_match(s.harness, p_harness) AND spend_dim_match(s.repository, p_repository)
$$;
