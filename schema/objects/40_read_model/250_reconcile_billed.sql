-- What the providers billed per provider, UTC day and model, each figure from the report
-- reconcile_sources() chose for its provider-day: token buckets (disjoint, as in
-- agent_spend_logs) from the tokens report, dollars from the dollars report.
CREATE OR REPLACE FUNCTION reconcile_billed(p_first date, p_last date)
RETURNS TABLE (
    provider text, day date, model text, input_tokens numeric, cache_read_tokens numeric,
    cache_write_tokens numeric, output_tokens numeric, cost_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT l.provider, l.day, l.model,
           sum(l.input_tokens) FILTER (WHERE l.report = s.tokens_report),
           sum(l.cache_read_tokens) FILTER (WHERE l.report = s.tokens_report),
           sum(l.cache_write_tokens) FILTER (WHERE l.report = s.tokens_report),
           sum(l.output_tokens) FILTER (WHERE l.report = s.tokens_report),
           sum(l.cost_usd) FILTER (WHERE l.report = s.usd_report)
    FROM billing_lines l
    JOIN reconcile_sources(p_first, p_last) s ON s.provider = l.provider AND s.day = l.day
    WHERE l.day BETWEEN p_first AND p_last
      AND (l.report = s.tokens_report OR l.report = s.usd_report)
    GROUP BY l.provider, l.day, l.model
$$;
