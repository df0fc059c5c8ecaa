-- The derived rollups in maintenance order.
CREATE OR REPLACE FUNCTION spend_rollup_derived() RETURNS TEXT[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(r.rollup ORDER BY r.position) FROM spend_rollup_registry r
$$;
