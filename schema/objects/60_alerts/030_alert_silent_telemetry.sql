-- Telemetry gone silent (docs/alerts.md): a developer or a harness that reported on each of
-- the p_working_days working days (Monday to Friday, UTC) up to its last day with calls, and
-- has reported nothing for at least p_quiet_working_days complete working days since (the
-- day of p_now, not over yet, does not count). That pattern means the monitoring broke, not
-- the spending. Read from the day rollups (spend_daily_user, spend_daily_coarse) over the
-- last p_lookback_days; a silence longer than that look-back stops alerting (resolved).
-- Subjects 'user:<user_id>' and 'harness:<name>' ('unknown' never); one alert per subject
-- and last day seen (period_key 'YYYY-MM-DD'), resolved when it reports again.
-- Defaults equal bridge/config.py's ALERT_SILENT_* (tests/test_alerts_rules.py checks).
CREATE OR REPLACE FUNCTION alert_silent_telemetry(
    p_now timestamptz,
    p_working_days integer DEFAULT 10,
    p_quiet_working_days integer DEFAULT 1,
    p_lookback_days integer DEFAULT 42
) RETURNS TABLE (
    kind text, subject text, period_key text, severity text, summary text, value numeric,
    threshold numeric, details jsonb
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH bounds AS (
        SELECT (p_now AT TIME ZONE 'UTC')::date AS today
    ),
    seen AS (
        SELECT DISTINCT 'user' AS scope, u.user_id AS name, (u.bucket AT TIME ZONE 'UTC')::date AS day
        FROM spend_daily_user u, bounds b
        WHERE u.bucket >= (b.today - p_lookback_days)::timestamp AT TIME ZONE 'UTC' AND u.bucket <= p_now
          AND u.user_id <> 'unknown'
        UNION
        SELECT DISTINCT 'harness', c.harness_name, (c.bucket AT TIME ZONE 'UTC')::date
        FROM spend_daily_coarse c, bounds b
        WHERE c.bucket >= (b.today - p_lookback_days)::timestamp AT TIME ZONE 'UTC' AND c.bucket <= p_now
          AND c.harness_name <> 'unknown'
    ),
    last_seen AS (
        SELECT s.scope, s.name, max(s.day) AS last_day
        FROM seen s
        GROUP BY s.scope, s.name
    ),
    quiet AS (
        SELECT l.scope, l.name, l.last_day,
               (SELECT count(*) FROM generate_series((l.last_day + 1)::timestamp, (b.today - 1)::timestamp, interval '1 day') g(day)
                WHERE extract(isodow FROM g.day) < 6) AS quiet_days
        FROM last_seen l, bounds b
    ),
    baseline AS (
        SELECT q.*, w.days AS working_days,
               (SELECT count(*) FROM seen s
                WHERE s.scope = q.scope AND s.name = q.name AND s.day = ANY (w.days)) AS reported_days
        FROM quiet q,
             LATERAL (
                 SELECT array_agg(d.day) AS days
                 FROM (
                     SELECT g.day::date AS day
                     FROM generate_series((q.last_day - 3 * p_working_days)::timestamp, q.last_day::timestamp,
                                          interval '1 day') g(day)
                     WHERE extract(isodow FROM g.day) < 6
                     ORDER BY g.day DESC
                     LIMIT p_working_days
                 ) d
             ) w
        WHERE q.quiet_days >= p_quiet_working_days
    )
    SELECT 'silent_telemetry', b.scope || ':' || b.name, b.last_day::text, 'warning',
           format('%s %s reported every working day up to %s, then nothing for %s working day(s): '
                  'is its telemetry still configured?', b.scope, b.name, b.last_day, b.quiet_days),
           b.quiet_days::numeric, p_quiet_working_days::numeric,
           jsonb_build_object('scope', b.scope, 'name', b.name, 'last_day', b.last_day,
                              'quiet_working_days', b.quiet_days, 'baseline_working_days', p_working_days)
    FROM baseline b
    WHERE cardinality(b.working_days) = p_working_days AND b.reported_days = p_working_days
$$;

CREATE OR REPLACE VIEW alert_silent_telemetry_now AS
SELECT * FROM alert_silent_telemetry(now());
