-- Signed aggregation of an input query into `tbl`-shaped rows.
CREATE OR REPLACE FUNCTION spend_rollup_aggregate_dim(tbl TEXT, src TEXT) RETURNS TEXT
LANGUAGE sql STABLE AS $$
    SELECT spend_rollup_project(tbl, spend_rollup_aggregate(spend_rollup_grain(tbl), src))
$$;
