-- First UTC hour / day boundary at or after p_ts (24 hours, not '1 day': a day interval
-- follows the session time zone across daylight-saving changes).
CREATE OR REPLACE FUNCTION spend_hour_ceil(p_ts timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT date_trunc('hour', p_ts, 'UTC')
        + CASE WHEN date_trunc('hour', p_ts, 'UTC') < p_ts THEN interval '1 hour' ELSE interval '0' END
$$;
