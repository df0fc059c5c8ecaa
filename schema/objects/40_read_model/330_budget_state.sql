-- The state of every current budget in the period that contains p_now: budget_periods over
-- the single instant p_now (spent up to and including it; the version in effect at p_now).
-- One row per budget name. budget_state is the clock's, read by the By team dashboard, the
-- alerts and the reports alike. docs/budgets.md.
CREATE OR REPLACE FUNCTION budget_state_at(p_now timestamptz)
RETURNS TABLE (
    budget_id bigint, name text, scope_kind text, scope text, period text,
    period_start timestamptz, period_end timestamptz, amount_usd numeric, spent_usd numeric,
    percent numeric, projected_usd numeric, thresholds numeric[], threshold_reached numeric,
    projected_over boolean, status text
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT * FROM budget_periods(p_now, p_now + interval '1 microsecond')
$$;

CREATE OR REPLACE VIEW budget_state AS
SELECT * FROM budget_state_at(now());
