-- Runaway sessions (docs/alerts.md): a session whose cost over the last p_window, as a rate
-- per hour, is above p_multiple x its developer's typical rate, or above p_cap_usd_per_hour
-- whatever the developer's history. The developer's typical rate is their average cost per
-- active hour (hours with any spend) over the p_baseline_days before the window, from
-- spend_hourly; a developer without history is held to the cap only. Rates below
-- p_min_usd_per_hour never alert. Only the window's raw calls are read (spend_calls, by ts).
-- One alert per session (subject) and the UTC day the session started (period_key).
-- Defaults equal bridge/config.py's ALERT_RUNAWAY_* (tests/test_alerts_rules.py checks).
CREATE OR REPLACE FUNCTION alert_runaway_sessions(
    p_now timestamptz,
    p_multiple numeric DEFAULT 5,
    p_cap_usd_per_hour numeric DEFAULT 50,
    p_min_usd_per_hour numeric DEFAULT 10,
    p_window interval DEFAULT '1 hour',
    p_baseline_days integer DEFAULT 14
) RETURNS TABLE (
    kind text, subject text, period_key text, severity text, summary text, value numeric,
    threshold numeric, details jsonb
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH recent AS (
        SELECT c.session_id, sum(c.cost_usd) AS cost_usd, count(*) AS calls
        FROM spend_calls c
        WHERE c.ts > p_now - p_window AND c.ts <= p_now AND c.session_id IS NOT NULL
        GROUP BY c.session_id
    ),
    sessions AS (
        SELECT r.session_id, s.user_id, s.team, s.harness_name, s.workspace_repo, s.first_ts, r.calls,
               r.cost_usd, round(r.cost_usd * 3600 / extract(epoch FROM p_window), 4) AS rate
        FROM recent r
        JOIN session_rollup s USING (session_id)
    ),
    typical AS (
        SELECT h.user_id, sum(h.cost_usd) / count(DISTINCT h.bucket) AS rate
        FROM spend_hourly h
        WHERE h.bucket >= p_now - make_interval(days => p_baseline_days)
          AND h.bucket < date_trunc('hour', (p_now - p_window) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
          AND h.user_id IN (SELECT user_id FROM sessions)
        GROUP BY h.user_id
        HAVING sum(h.cost_usd) > 0
    ),
    judged AS (
        SELECT s.*, t.rate AS typical_rate,
               CASE WHEN t.rate IS NULL THEN p_cap_usd_per_hour
                    ELSE least(round(p_multiple * t.rate, 4), p_cap_usd_per_hour) END AS limit_rate
        FROM sessions s
        LEFT JOIN typical t USING (user_id)
    )
    SELECT 'runaway_session', j.session_id, to_char(j.first_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
           CASE WHEN j.rate > p_cap_usd_per_hour THEN 'critical' ELSE 'warning' END,
           format('session %s of %s (%s) is spending $%s/h over the last %s, above %s',
                  j.session_id, j.user_id, j.harness_name, round(j.rate, 2), p_window,
                  CASE WHEN j.rate > p_cap_usd_per_hour
                       THEN format('the $%s/h cap', p_cap_usd_per_hour)
                       ELSE format('%s x their typical $%s/h', p_multiple, round(j.typical_rate, 2)) END),
           j.rate, j.limit_rate,
           jsonb_build_object(
               'session_id', j.session_id, 'user_id', j.user_id, 'team', j.team, 'harness', j.harness_name,
               'repository', j.workspace_repo, 'started_at', j.first_ts, 'window_calls', j.calls,
               'window_cost_usd', j.cost_usd, 'typical_usd_per_hour', round(j.typical_rate, 4),
               'multiple', p_multiple, 'cap_usd_per_hour', p_cap_usd_per_hour)
    FROM judged j
    WHERE j.rate >= p_min_usd_per_hour AND j.rate > j.limit_rate
$$;

CREATE OR REPLACE VIEW alert_runaway_sessions_now AS
SELECT * FROM alert_runaway_sessions(now());
