-- Key and grain lookups of the derived rollups, read from spend_rollup_registry. STABLE: the registry changes
-- only through migrations.
CREATE OR REPLACE FUNCTION spend_rollup_keys(tbl TEXT) RETURNS TEXT[]
LANGUAGE sql STABLE AS $$
    SELECT r.keys FROM spend_rollup_registry r WHERE r.rollup = tbl
$$;
