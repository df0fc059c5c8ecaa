-- spend_between with the whole days from spend_daily_coarse: the same five
-- disjoint branches (raw edges, whole hours, whole days), the same boundaries.
CREATE OR REPLACE FUNCTION spend_between_coarse(p_from timestamptz, p_to timestamptz) RETURNS SETOF spend_total_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.team, c.model, c.provider, c.harness, c.environment, c.cost_estimation, c.is_ci,
           1::numeric, (c.status = 'error')::int::numeric, c.is_unpriced::int::numeric,
           c.is_long_context::int::numeric, c.input_tokens::numeric, c.output_tokens::numeric,
           c.cache_read_tokens::numeric, c.cache_write_tokens::numeric, c.reasoning_tokens::numeric,
           c.prompt_tokens::numeric, c.total_tokens::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, coalesce(c.reported_cost_usd, 0)::numeric
    FROM spend_edge_calls(p_from, p_to) c  -- both partial hours: [lo, hs) and [he, p_to]
    UNION ALL
    SELECT h.team, h.model, h.provider, h.harness, h.environment, h.cost_estimation, h.is_ci,
           h.calls, h.error_calls, h.unpriced_calls, h.long_context_calls,
           h.input_tokens, h.output_tokens, h.cache_read_tokens, h.cache_write_tokens, h.reasoning_tokens,
           h.prompt_tokens, h.total_tokens, h.cost_usd, h.list_cost_usd, h.reported_cost_usd
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.hourly_end FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT d.team, d.model, d.provider, d.harness, d.environment, d.cost_estimation, d.is_ci,
           d.calls, d.error_calls, d.unpriced_calls, d.long_context_calls,
           d.input_tokens, d.output_tokens, d.cache_read_tokens, d.cache_write_tokens, d.reasoning_tokens,
           d.prompt_tokens, d.total_tokens, d.cost_usd, d.list_cost_usd, d.reported_cost_usd
    FROM spend_by_day_coarse d
    WHERE d.bucket >= (SELECT b.ds FROM spend_range_bounds(p_from, p_to) b)
      AND d.bucket < (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT h.team, h.model, h.provider, h.harness, h.environment, h.cost_estimation, h.is_ci,
           h.calls, h.error_calls, h.unpriced_calls, h.long_context_calls,
           h.input_tokens, h.output_tokens, h.cache_read_tokens, h.cache_write_tokens, h.reasoning_tokens,
           h.prompt_tokens, h.total_tokens, h.cost_usd, h.list_cost_usd, h.reported_cost_usd
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.he FROM spend_range_bounds(p_from, p_to) b)
$$;
