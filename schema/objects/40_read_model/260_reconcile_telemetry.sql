-- What telemetry saw per provider, UTC day and model, from the daily coarse rollup (never
-- the raw calls). Seat-plan calls (cost_estimation 'subscription': Claude Max and the like)
-- are never on an API bill, so they are counted apart (seat_*) and the other measures are
-- those of the metered and unreported calls. cost_usd is the dashboards' cost,
-- list_cost_usd the list-price value, reported_cost_usd what the emitters reported.
CREATE OR REPLACE FUNCTION reconcile_telemetry(p_first date, p_last date)
RETURNS TABLE (
    provider text, day date, model text, calls numeric, input_tokens numeric, cache_read_tokens numeric,
    cache_write_tokens numeric, output_tokens numeric, cost_usd numeric, list_cost_usd numeric,
    reported_cost_usd numeric, seat_calls numeric, seat_tokens numeric, seat_list_cost_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.provider, (c.bucket AT TIME ZONE 'UTC')::date, c.model,
           coalesce(sum(c.calls) FILTER (WHERE NOT c.seat), 0),
           coalesce(sum(c.input_tokens) FILTER (WHERE NOT c.seat), 0),
           coalesce(sum(c.cache_read_tokens) FILTER (WHERE NOT c.seat), 0),
           coalesce(sum(c.cache_write_tokens) FILTER (WHERE NOT c.seat), 0),
           coalesce(sum(c.output_tokens) FILTER (WHERE NOT c.seat), 0),
           coalesce(sum(c.cost_usd) FILTER (WHERE NOT c.seat), 0),
           coalesce(sum(c.list_cost_usd) FILTER (WHERE NOT c.seat), 0),
           coalesce(sum(c.reported_cost_usd) FILTER (WHERE NOT c.seat), 0),
           coalesce(sum(c.calls) FILTER (WHERE c.seat), 0),
           coalesce(sum(c.input_tokens + c.cache_read_tokens + c.cache_write_tokens + c.output_tokens)
                    FILTER (WHERE c.seat), 0),
           coalesce(sum(c.list_cost_usd) FILTER (WHERE c.seat), 0)
    FROM (
        SELECT d.*, d.cost_estimation = 'subscription' AS seat
        FROM spend_daily_coarse d
        WHERE d.bucket >= p_first::timestamp AT TIME ZONE 'UTC'
          AND d.bucket < (p_last + 1)::timestamp AT TIME ZONE 'UTC'
    ) c
    GROUP BY c.provider, (c.bucket AT TIME ZONE 'UTC')::date, c.model
$$;
