-- The budget periods of kind p_period ('month': UTC calendar month, 'week': ISO week from
-- Monday 00:00 UTC, 'day': UTC day) that overlap [p_from, p_to), as half-open
-- [period_start, period_end). Computed on UTC wall-clock timestamps, so neither the session
-- time zone nor month lengths shift a boundary. p_from and p_to must be finite.
CREATE OR REPLACE FUNCTION budget_period_series(p_period text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (period_start timestamptz, period_end timestamptz)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT s.local_start AT TIME ZONE 'UTC', (s.local_start + k.step) AT TIME ZONE 'UTC'
    FROM (
        SELECT CASE p_period WHEN 'month' THEN interval '1 month' WHEN 'week' THEN interval '7 days'
                             WHEN 'day' THEN interval '1 day' END AS step,
               date_trunc(p_period, p_from AT TIME ZONE 'UTC') AS first_start
        WHERE p_period IN ('month', 'week', 'day') AND p_from < p_to
    ) k
    CROSS JOIN LATERAL generate_series(k.first_start, (p_to AT TIME ZONE 'UTC') - interval '1 microsecond', k.step)
        AS s(local_start)
$$;
