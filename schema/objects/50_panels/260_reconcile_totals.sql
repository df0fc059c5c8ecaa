-- reconcile_days summed per provider, plus one row for all providers (provider
-- 'all providers'): the figures of the Reconciliation stats and of `reconcile status`.
-- Coverage is the ratio of the sums over the comparable cells (billed figure not NULL).
CREATE OR REPLACE FUNCTION reconcile_totals(
    p_from timestamptz, p_to timestamptz, p_model text[] DEFAULT '{__all}'
) RETURNS TABLE (
    provider text, days bigint, billed_tokens numeric, billed_usd numeric, telemetry_calls numeric,
    telemetry_tokens numeric, telemetry_cost_usd numeric, telemetry_list_usd numeric,
    telemetry_reported_usd numeric, seat_tokens numeric, seat_list_usd numeric,
    coverage_tokens_ratio numeric, coverage_usd_ratio numeric,
    unseen_tokens numeric, unseen_usd numeric, unbilled_tokens numeric, unbilled_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(d.provider, 'all providers'), count(DISTINCT d.day), sum(d.billed_tokens), sum(d.billed_usd),
           sum(d.telemetry_calls), sum(d.telemetry_tokens), sum(d.telemetry_cost_usd), sum(d.telemetry_list_usd),
           sum(d.telemetry_reported_usd), sum(d.seat_tokens), sum(d.seat_list_usd),
           sum(d.telemetry_tokens) FILTER (WHERE d.billed_tokens IS NOT NULL) / nullif(sum(d.billed_tokens), 0),
           sum(d.telemetry_cost_usd) FILTER (WHERE d.billed_usd IS NOT NULL) / nullif(sum(d.billed_usd), 0),
           sum(d.unseen_tokens), sum(d.unseen_usd), sum(d.unbilled_tokens), sum(d.unbilled_usd)
    FROM reconcile_days(p_from, p_to, p_model) d
    GROUP BY GROUPING SETS ((d.provider), ())
$$;
