-- Spend anomalies (docs/alerts.md): a developer's or a team's spend on the UTC day of p_now
-- (up to p_now, from spend_hourly) above p_factor x its trailing daily average, and at least
-- p_min_usd so tiny spenders never alert. The average covers the p_days days before today
-- from the subject's first day with spend in them (spend_daily_user; days without spend
-- count as 0), so a subject with no history has no baseline and does not alert here (a
-- runaway session still does). Subjects 'user:<user_id>' (not 'unknown') and 'team:<team>';
-- one alert per subject and day (period_key 'YYYY-MM-DD'), resolved once the day is over.
-- Defaults equal bridge/config.py's ALERT_ANOMALY_* (tests/test_alerts_rules.py checks).
CREATE OR REPLACE FUNCTION alert_anomalies(
    p_now timestamptz,
    p_factor numeric DEFAULT 2,
    p_min_usd numeric DEFAULT 20,
    p_days integer DEFAULT 14
) RETURNS TABLE (
    kind text, subject text, period_key text, severity text, summary text, value numeric,
    threshold numeric, details jsonb
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH bounds AS (
        SELECT date_trunc('day', p_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS today
    ),
    today AS (
        SELECT 'user' AS scope, h.user_id AS name, sum(h.cost_usd) AS cost_usd
        FROM spend_hourly h, bounds b
        WHERE h.bucket >= b.today AND h.bucket <= p_now AND h.user_id <> 'unknown'
        GROUP BY h.user_id
        UNION ALL
        SELECT 'team', h.team, sum(h.cost_usd)
        FROM spend_hourly_team h, bounds b
        WHERE h.bucket >= b.today AND h.bucket <= p_now
        GROUP BY h.team
    ),
    history AS (
        SELECT 'user' AS scope, u.user_id AS name, u.bucket, sum(u.cost_usd) AS cost_usd
        FROM spend_daily_user u, bounds b
        WHERE u.bucket >= b.today - make_interval(days => p_days) AND u.bucket < b.today
          AND u.user_id IN (SELECT name FROM today WHERE scope = 'user')
        GROUP BY u.user_id, u.bucket
        UNION ALL
        SELECT 'team', u.team, u.bucket, sum(u.cost_usd)
        FROM spend_daily_user u, bounds b
        WHERE u.bucket >= b.today - make_interval(days => p_days) AND u.bucket < b.today
          AND u.team IN (SELECT name FROM today WHERE scope = 'team')
        GROUP BY u.team, u.bucket
    ),
    baseline AS (
        SELECT h.scope, h.name, sum(h.cost_usd) AS cost_usd,
               extract(day FROM b.today - min(h.bucket))::integer AS days
        FROM history h, bounds b
        GROUP BY h.scope, h.name, b.today
    ),
    judged AS (
        SELECT t.scope, t.name, t.cost_usd, round(bl.cost_usd / bl.days, 4) AS average_usd, bl.days
        FROM today t
        JOIN baseline bl USING (scope, name)
        WHERE bl.days > 0
    )
    SELECT 'anomaly', j.scope || ':' || j.name, to_char(b.today AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
           'warning',
           format('%s %s has spent $%s today, above %s x its %s-day daily average of $%s',
                  j.scope, j.name, round(j.cost_usd, 2), p_factor, j.days, round(j.average_usd, 2)),
           j.cost_usd, round(p_factor * j.average_usd, 4),
           jsonb_build_object('scope', j.scope, 'name', j.name, 'today_usd', j.cost_usd,
                              'average_usd', j.average_usd, 'baseline_days', j.days,
                              'factor', p_factor, 'min_usd', p_min_usd)
    FROM judged j, bounds b
    WHERE j.cost_usd >= p_min_usd AND j.cost_usd > p_factor * j.average_usd
$$;

CREATE OR REPLACE VIEW alert_anomalies_now AS
SELECT * FROM alert_anomalies(now());
