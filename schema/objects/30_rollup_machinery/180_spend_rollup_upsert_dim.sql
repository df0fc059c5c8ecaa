-- spend_rollup_upsert for the dimension rollups: adds the deltas of the raw rows `src` to
-- `tbl`, keyed by its registry keys (see spend_rollup_upsert_rows).
CREATE OR REPLACE FUNCTION spend_rollup_upsert_dim(tbl TEXT, src TEXT) RETURNS TEXT
LANGUAGE sql STABLE AS $$
    SELECT spend_rollup_upsert_rows(tbl, spend_rollup_keys(tbl), spend_rollup_aggregate_dim(tbl, src))
$$;
