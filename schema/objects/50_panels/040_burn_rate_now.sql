-- Until p_now (the clock by default) was a parameter it had no trailing timestamptz.
DROP FUNCTION IF EXISTS burn_rate_now(text[], text[], text[], text[], text[], text[]);

-- Now-relative figures for the burn-rate stats; independent of the dashboard range.
CREATE OR REPLACE FUNCTION burn_rate_now(
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}',
    p_now timestamptz DEFAULT now()
) RETURNS TABLE (
    cost_last_hour_usd numeric, cost_last_24h_usd numeric, calls_last_hour numeric,
    active_sessions bigint, active_developers bigint
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT
        (SELECT coalesce(sum(s.cost_usd), 0) FROM spend_filtered(p_now - interval '1 hour', p_now, p_environment,
                                                             p_team, p_user, p_model, p_harness, p_repository) s),
        (SELECT coalesce(sum(s.cost_usd), 0) FROM spend_filtered(p_now - interval '24 hours', p_now, p_environment,
                                                             p_team, p_user, p_model, p_harness, p_repository) s),
        (SELECT coalesce(sum(s.calls), 0) FROM spend_filtered(p_now - interval '1 hour', p_now, p_environment,
                                                          p_team, p_user, p_model, p_harness, p_repository) s),
        count(DISTINCT c.session_id),
        count(DISTINCT c.user_id) FILTER (WHERE c.is_developer)
    FROM calls_filtered(p_now - interval '15 minutes', p_now, p_environment, p_team, p_user, p_model, p_harness,
                        p_repository) c
$$;
