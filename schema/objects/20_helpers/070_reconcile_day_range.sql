-- The UTC days a range [p_from, p_to] touches, for the reconciliation's whole-day figures
-- (docs/reconcile.md): the day of p_from through the day before spend_day_ceil(p_to), so a
-- range ending exactly at midnight does not pull in the following day.
CREATE OR REPLACE FUNCTION reconcile_day_range(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (first_day date, last_day date)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT (p_from AT TIME ZONE 'UTC')::date, (spend_day_ceil(p_to) AT TIME ZONE 'UTC')::date - 1
$$;
