-- Re-aggregates spend_hourly-shaped rows (a query text) onto the key of `tbl`.
CREATE OR REPLACE FUNCTION spend_rollup_project(tbl TEXT, fine TEXT) RETURNS TEXT
LANGUAGE sql STABLE AS $$
    SELECT spend_rollup_project_keys(spend_rollup_keys(tbl), fine)
$$;
