-- Re-aggregates spend_hourly-shaped rows (a query text) onto `keys` (the first is bucket).
CREATE OR REPLACE FUNCTION spend_rollup_project_keys(keys TEXT[], fine TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
        SELECT %1$s,
               sum(f.calls)::bigint AS calls, sum(f.error_calls)::bigint AS error_calls,
               sum(f.unpriced_calls)::bigint AS unpriced_calls,
               sum(f.long_context_calls)::bigint AS long_context_calls,
               sum(f.input_tokens) AS input_tokens, sum(f.output_tokens) AS output_tokens,
               sum(f.cache_read_tokens) AS cache_read_tokens, sum(f.cache_write_tokens) AS cache_write_tokens,
               sum(f.reasoning_tokens) AS reasoning_tokens, sum(f.cost_usd) AS cost_usd,
               sum(f.list_cost_usd) AS list_cost_usd, sum(f.reported_cost_usd) AS reported_cost_usd
        FROM (%2$s) f
        GROUP BY %3$s$q$,
        (SELECT string_agg(format('f.%I', k), ', ' ORDER BY i)
         FROM unnest(keys) WITH ORDINALITY u(k, i)),
        fine,
        (SELECT string_agg(i::text, ', ' ORDER BY i) FROM generate_series(1, cardinality(keys)) i))
$$;
