-- Sessions active at some point of [p_from, p_to] (through the last_ts indexes). Sessions
-- span models and environments, so only the team, user, harness and repository filters
-- apply; the environment and model arguments are accepted for a uniform call and ignored.
CREATE OR REPLACE FUNCTION session_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS SETOF session_log
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.*
    FROM session_log s
    WHERE s.last_call_at >= p_from AND s.started_at <= p_to
      AND spend_dim_match(s.team, p_team) AND spend_dim_match(s.user_id, p_user)
      AND spend_dim_match(s.harness, p_harness) AND spend_dim_match(s.repository, p_repository)
$$;
