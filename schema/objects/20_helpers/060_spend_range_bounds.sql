-- The boundaries of an exact range [p_from, p_to], UTC: `lo` where it really starts (see
-- spend_exact_from), hs/he the first and last whole hour, ds/de the first and last whole day,
-- hourly_end = min(ds, he) where the leading whole hours stop.
CREATE OR REPLACE FUNCTION spend_range_bounds(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (lo timestamptz, hs timestamptz, hourly_end timestamptz, ds timestamptz, de timestamptz,
               he timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.lo, c.hs, least(c.ds, c.he), c.ds, greatest(date_trunc('day', c.he, 'UTC'), c.ds), c.he
    FROM (
        SELECT b.lo, b.hs, b.he, spend_day_ceil(b.hs) AS ds
        FROM (
            SELECT a.lo, spend_hour_ceil(a.lo) AS hs,
                   greatest(date_trunc('hour', p_to, 'UTC'), spend_hour_ceil(a.lo)) AS he
            FROM (SELECT spend_exact_from(p_from) AS lo) a
        ) b
    ) c
$$;
