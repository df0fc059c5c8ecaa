-- Budgets projected to overrun (docs/alerts.md, docs/budgets.md): budget_state_at's
-- projected_over (the budget warns on projections and its period's projected spend is above
-- the amount) for a budget not already at 100 % (the threshold alert covers that), once at
-- least p_min_elapsed_ratio of the period has passed, so a busy first hour does not use up
-- the period's one alert. Subject the budget's name; one alert per budget and period
-- (period_key 'YYYY-MM-DD', the period's start). Defaults equal bridge/config.py's
-- ALERT_BUDGET_* (tests/test_alerts_rules.py checks).
CREATE OR REPLACE FUNCTION alert_budget_projected(
    p_now timestamptz,
    p_min_elapsed_ratio numeric DEFAULT 0.2
) RETURNS TABLE (
    kind text, subject text, period_key text, severity text, summary text, value numeric,
    threshold numeric, details jsonb
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT 'budget_projected', b.name, to_char(b.period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'warning',
           format('budget %s (%s %s, %s) is projected to reach $%s by %s, above its $%s ($%s spent so far)',
                  b.name, b.scope_kind, nullif(b.scope, ''), b.period, round(b.projected_usd, 2),
                  to_char(b.period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'), round(b.amount_usd, 2),
                  round(b.spent_usd, 2)),
           round(b.projected_usd, 4), b.amount_usd,
           jsonb_build_object('budget', b.name, 'scope_kind', b.scope_kind, 'scope', b.scope,
                              'period', b.period, 'period_start', b.period_start, 'period_end', b.period_end,
                              'amount_usd', b.amount_usd, 'spent_usd', b.spent_usd,
                              'projected_usd', round(b.projected_usd, 4), 'percent', round(b.percent, 4))
    FROM budget_state_at(p_now) b
    WHERE b.projected_over AND b.percent < 100
      AND extract(epoch FROM p_now - b.period_start)
          >= p_min_elapsed_ratio * extract(epoch FROM b.period_end - b.period_start)
$$;

CREATE OR REPLACE VIEW alert_budget_projected_now AS
SELECT * FROM alert_budget_projected(now());
