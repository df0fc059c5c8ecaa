-- Until p_now (the clock by default) was a parameter it had no trailing timestamptz.
DROP FUNCTION IF EXISTS active_sessions(interval, text[], text[], text[], text[], text[], text[]);

-- Sessions with a call in the last p_idle: the "is something running away right now"
-- table, with their cost rate over their whole life.
CREATE OR REPLACE FUNCTION active_sessions(
    p_idle interval DEFAULT '15 minutes',
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}',
    p_now timestamptz DEFAULT now()
) RETURNS TABLE (
    session_id text, user_id text, team text, repository text, harness text, started_at timestamptz,
    last_call_at timestamptz, running_for_s numeric, turns bigint, cost_usd numeric, cost_per_hour_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.session_id, s.user_id, s.team, s.repository, s.harness, s.started_at, s.last_call_at,
           s.duration_s, s.turns, s.cost_usd, 3600 * s.cost_usd / greatest(s.duration_s, 60)
    FROM session_summary(p_now - p_idle, p_now, p_environment, p_team, p_user, p_model, p_harness,
                         p_repository) s
$$;
