CREATE OR REPLACE FUNCTION spend_day_ceil(p_ts timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT date_trunc('day', p_ts, 'UTC')
        + CASE WHEN date_trunc('day', p_ts, 'UTC') < p_ts THEN interval '24 hours' ELSE interval '0' END
$$;
