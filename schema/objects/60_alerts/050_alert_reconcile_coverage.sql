-- Reconciliation coverage (docs/alerts.md, docs/reconcile.md): a provider and complete UTC
-- day, among the p_days before the day of p_now, whose bill is at least p_min_billed_usd
-- and of whose dollars telemetry saw less than p_min_ratio (reconcile_days summed over
-- models: the dashboards' cost / billed dollars, comparable cells only). Subject the
-- provider; one alert per provider and day (period_key 'YYYY-MM-DD'), resolved when late
-- telemetry or a corrected bill lifts it, or when the day leaves the look-back.
-- Defaults equal bridge/config.py's ALERT_COVERAGE_* (tests/test_alerts_rules.py checks).
CREATE OR REPLACE FUNCTION alert_reconcile_coverage(
    p_now timestamptz,
    p_min_ratio numeric DEFAULT 0.9,
    p_days integer DEFAULT 7,
    p_min_billed_usd numeric DEFAULT 1
) RETURNS TABLE (
    kind text, subject text, period_key text, severity text, summary text, value numeric,
    threshold numeric, details jsonb
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH bounds AS (
        SELECT date_trunc('day', p_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS today
    ),
    days AS (
        SELECT d.provider, d.day, sum(d.billed_usd) AS billed_usd,
               sum(d.telemetry_cost_usd) FILTER (WHERE d.billed_usd IS NOT NULL) AS telemetry_usd
        FROM bounds b, reconcile_days(b.today - make_interval(days => p_days), b.today) d
        GROUP BY d.provider, d.day
    ),
    judged AS (
        SELECT d.*, round(coalesce(d.telemetry_usd, 0) / d.billed_usd, 4) AS ratio
        FROM days d
        WHERE d.billed_usd >= p_min_billed_usd
    )
    SELECT 'reconcile_coverage', j.provider, j.day::text, 'warning',
           format('%s on %s: telemetry saw $%s of $%s billed (%s%%, below %s%%): an unmonitored key '
                  'or developer?', j.provider, j.day, round(coalesce(j.telemetry_usd, 0), 2),
                  round(j.billed_usd, 2), round(100 * j.ratio, 1), round(100 * p_min_ratio, 1)),
           j.ratio, p_min_ratio,
           jsonb_build_object('provider', j.provider, 'day', j.day, 'billed_usd', j.billed_usd,
                              'telemetry_usd', coalesce(j.telemetry_usd, 0), 'coverage_usd_ratio', j.ratio)
    FROM judged j
    WHERE j.ratio < p_min_ratio
$$;

CREATE OR REPLACE VIEW alert_reconcile_coverage_now AS
SELECT * FROM alert_reconcile_coverage(now());
