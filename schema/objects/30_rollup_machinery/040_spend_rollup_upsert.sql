-- Adds `deltas` (a query of `tbl`-shaped signed deltas) into the rollup `tbl`, whose primary
-- key is `keys` (in table order, bucket first), and returns the buckets where a row dropped to
-- calls = 0 (to delete). The input is sorted by key, so concurrent writers lock rollup rows in
-- one global order and cannot deadlock; ON CONFLICT DO UPDATE row-locks, so concurrent deltas
-- to one key serialise, none is lost.
CREATE OR REPLACE FUNCTION spend_rollup_upsert_rows(tbl TEXT, keys TEXT[], deltas TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        WITH up AS (
            INSERT INTO %1$I AS t
            SELECT * FROM (%2$s) a ORDER BY %3$s
            ON CONFLICT (%4$s)
            DO UPDATE SET
                calls = t.calls + EXCLUDED.calls,
                error_calls = t.error_calls + EXCLUDED.error_calls,
                unpriced_calls = t.unpriced_calls + EXCLUDED.unpriced_calls,
                long_context_calls = t.long_context_calls + EXCLUDED.long_context_calls,
                input_tokens = t.input_tokens + EXCLUDED.input_tokens,
                output_tokens = t.output_tokens + EXCLUDED.output_tokens,
                cache_read_tokens = t.cache_read_tokens + EXCLUDED.cache_read_tokens,
                cache_write_tokens = t.cache_write_tokens + EXCLUDED.cache_write_tokens,
                reasoning_tokens = t.reasoning_tokens + EXCLUDED.reasoning_tokens,
                cost_usd = t.cost_usd + EXCLUDED.cost_usd,
                list_cost_usd = t.list_cost_usd + EXCLUDED.list_cost_usd,
                reported_cost_usd = t.reported_cost_usd + EXCLUDED.reported_cost_usd
            RETURNING t.bucket, t.calls)
        SELECT array_agg(DISTINCT up.bucket) FROM up WHERE up.calls = 0$q$,
        tbl, deltas,
        (SELECT string_agg(i::text, ', ' ORDER BY i) FROM generate_series(1, cardinality(keys)) i),
        (SELECT string_agg(format('%I', k), ', ' ORDER BY i) FROM unnest(keys) WITH ORDINALITY u(k, i)))
$$;

-- Adds the signed deltas of the raw rows `src` into `tbl` (spend_hourly or spend_daily),
-- aggregated at `grain`; see spend_rollup_upsert_rows for the upsert, its result and its locks.
CREATE OR REPLACE FUNCTION spend_rollup_upsert(tbl TEXT, grain TEXT, src TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT spend_rollup_upsert_rows(tbl, spend_rollup_fine_keys(), spend_rollup_aggregate(grain, src))
$$;
