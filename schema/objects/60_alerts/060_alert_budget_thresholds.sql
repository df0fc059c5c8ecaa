-- Budget thresholds crossed (docs/alerts.md, docs/budgets.md): every threshold (percent of
-- the amount) that a budget's spend has reached in its period containing p_now, judged by
-- budget_state_at against the version of the budget in effect at p_now (a budget raised
-- mid-period judges the period by the new amount: a threshold no longer reached resolves).
-- Subject the budget's name; one alert per budget, period and threshold (period_key
-- '<period start YYYY-MM-DD>@<threshold>%'). Critical from 100 % on, warning below.
CREATE OR REPLACE FUNCTION alert_budget_thresholds(p_now timestamptz)
RETURNS TABLE (
    kind text, subject text, period_key text, severity text, summary text, value numeric,
    threshold numeric, details jsonb
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT 'budget_threshold', b.name,
           to_char(b.period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD') || '@' || t.threshold || '%',
           CASE WHEN t.threshold >= 100 THEN 'critical' ELSE 'warning' END,
           format('budget %s (%s %s, %s): $%s spent of $%s, %s%% of the amount, reached the %s%% threshold',
                  b.name, b.scope_kind, nullif(b.scope, ''), b.period, round(b.spent_usd, 2),
                  round(b.amount_usd, 2), round(b.percent, 1), t.threshold),
           round(b.percent, 4), t.threshold,
           jsonb_build_object('budget', b.name, 'scope_kind', b.scope_kind, 'scope', b.scope,
                              'period', b.period, 'period_start', b.period_start, 'period_end', b.period_end,
                              'amount_usd', b.amount_usd, 'spent_usd', b.spent_usd,
                              'projected_usd', round(b.projected_usd, 4), 'percent', round(b.percent, 4))
    FROM budget_state_at(p_now) b
    CROSS JOIN LATERAL unnest(b.thresholds) AS t(threshold)
    WHERE b.percent >= t.threshold
$$;

CREATE OR REPLACE VIEW alert_budget_thresholds_now AS
SELECT * FROM alert_budget_thresholds(now());
