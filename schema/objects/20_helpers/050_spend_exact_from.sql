-- Where an exact range may start: raw rows before the retention horizon (retention_state) are gone,
-- so a range starting there begins at its UTC day and is served by the daily rollup.
CREATE OR REPLACE FUNCTION spend_exact_from(p_from timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN p_from < spend_retention_horizon() THEN date_trunc('day', p_from, 'UTC') ELSE p_from END
$$;
