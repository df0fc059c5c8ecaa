-- Rows attributed to nobody: the harness sent no user identity, or the user has no team.
CREATE OR REPLACE FUNCTION unknown_identity(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    user_id text, team text, harness text, environment text, calls numeric, cost_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.user_id, s.team, s.harness, s.environment, sum(s.calls), sum(s.cost_usd)
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    WHERE s.user_id = 'unknown' OR s.team = 'unknown'
    GROUP BY s.user_id, s.team, s.harness, s.environment
$$;
