CREATE OR REPLACE FUNCTION spend_retention_horizon() RETURNS TIMESTAMPTZ
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT horizon FROM retention_state), '-infinity'::timestamptz)
$$;
