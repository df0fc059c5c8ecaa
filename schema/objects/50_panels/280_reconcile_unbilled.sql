-- Telemetry with no bill behind it, over the UTC days of the range, per provider and model:
--   'seat plan': seat-plan calls (cost_estimation 'subscription'), never on an API bill;
--       tokens, and their list-price value as dollars;
--   'no bill': metered telemetry on a day and model the provider billed nothing for (a key
--       of another organisation, a model name spelled differently in the report);
--   'above bill': telemetry tokens beyond the billed ones (double-counting emitters, a day
--       the provider has not closed yet), or, tokens agreeing, dashboard dollars beyond
--       the billed ones (wrong or missing price overrides, discounts).
-- A billed figure that is not comparable (NULL in reconcile_days) adds nothing to its column.
CREATE OR REPLACE FUNCTION reconcile_unbilled(
    p_from timestamptz, p_to timestamptz, p_model text[] DEFAULT '{__all}'
) RETURNS TABLE (
    provider text, reason text, model text, days bigint, telemetry_calls numeric, unbilled_tokens numeric,
    unbilled_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH d AS (
        SELECT r.*,
               CASE WHEN coalesce(r.billed_tokens, 0) = 0 AND coalesce(r.billed_usd, 0) = 0 THEN 'no bill'
                    ELSE 'above bill' END AS reason
        FROM reconcile_days(p_from, p_to, p_model) r
    )
    SELECT d.provider, 'seat plan', d.model, count(*), sum(d.seat_calls), sum(d.seat_tokens), sum(d.seat_list_usd)
    FROM d
    WHERE d.seat_calls > 0
    GROUP BY d.provider, d.model
    UNION ALL
    SELECT d.provider, d.reason, d.model, count(*), sum(d.telemetry_calls), sum(coalesce(d.unbilled_tokens, 0)),
           sum(coalesce(d.unbilled_usd, 0))
    FROM d
    WHERE d.unbilled_tokens > 0 OR d.unbilled_usd > 0
    GROUP BY d.provider, d.reason, d.model
$$;
