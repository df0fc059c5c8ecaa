CREATE OR REPLACE FUNCTION spend_rollup_grain(tbl TEXT) RETURNS TEXT
LANGUAGE sql STABLE AS $$
    SELECT r.grain FROM spend_rollup_registry r WHERE r.rollup = tbl
$$;
