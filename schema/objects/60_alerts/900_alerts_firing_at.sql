-- Every alert kind at p_now with its defaults (docs/alerts.md): what `agent-spend alerts
-- run` compares with alert_state. alerts_firing is the clock's.
CREATE OR REPLACE FUNCTION alerts_firing_at(p_now timestamptz)
RETURNS TABLE (
    kind text, subject text, period_key text, severity text, summary text, value numeric,
    threshold numeric, details jsonb
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT * FROM alert_runaway_sessions(p_now)
    UNION ALL SELECT * FROM alert_anomalies(p_now)
    UNION ALL SELECT * FROM alert_silent_telemetry(p_now)
    UNION ALL SELECT * FROM alert_unpriced_models(p_now)
    UNION ALL SELECT * FROM alert_reconcile_coverage(p_now)
    UNION ALL SELECT * FROM alert_budget_thresholds(p_now)
    UNION ALL SELECT * FROM alert_budget_projected(p_now)
$$;

CREATE OR REPLACE VIEW alerts_firing AS
SELECT * FROM alerts_firing_at(now());
