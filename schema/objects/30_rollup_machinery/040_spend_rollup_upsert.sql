-- Adds the signed deltas of the raw rows `src` into `tbl` (spend_hourly or spend_daily),
-- aggregated at `grain`; see spend_rollup_upsert_rows for the upsert, its result and its locks.
CREATE OR REPLACE FUNCTION spend_rollup_upsert(tbl TEXT, grain TEXT, src TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT spend_rollup_upsert_rows(tbl, spend_rollup_fine_keys(), spend_rollup_aggregate(grain, src))
$$;
