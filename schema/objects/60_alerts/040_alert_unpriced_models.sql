-- New unpriced models (docs/alerts.md): a model with calls whose cost is unknown (no list
-- price, no override, no reported cost: spend_daily.unpriced_calls) in the p_window before
-- p_now, so the dashboards undercount it until a price override or a catalog update and
-- `agent-spend reprice`. Subject '<provider>/<model>'; one alert per model ever (period_key
-- 'ever'), resolved when it has no unpriced call in the window any more.
-- Defaults equal bridge/config.py's ALERT_UNPRICED_* (tests/test_alerts_rules.py checks).
CREATE OR REPLACE FUNCTION alert_unpriced_models(
    p_now timestamptz,
    p_window interval DEFAULT '7 days',
    p_min_calls integer DEFAULT 1
) RETURNS TABLE (
    kind text, subject text, period_key text, severity text, summary text, value numeric,
    threshold numeric, details jsonb
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT 'unpriced_model', d.provider || '/' || d.model, 'ever', 'warning',
           format('model %s (%s): %s call(s) without a price since %s; add a price override, then '
                  '`agent-spend reprice`', d.model, d.provider, sum(d.unpriced_calls),
                  to_char(min(d.bucket) AT TIME ZONE 'UTC', 'YYYY-MM-DD')),
           sum(d.unpriced_calls)::numeric, p_min_calls::numeric,
           jsonb_build_object('model', d.model, 'provider', d.provider, 'unpriced_calls', sum(d.unpriced_calls),
                              'calls', sum(d.calls), 'first_day', min(d.bucket), 'last_day', max(d.bucket),
                              'tokens', sum(d.input_tokens + d.output_tokens + d.cache_read_tokens
                                            + d.cache_write_tokens))
    FROM spend_daily d
    WHERE d.bucket >= date_trunc('day', (p_now - p_window) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
      AND d.bucket <= p_now
    GROUP BY d.provider, d.model
    HAVING sum(d.unpriced_calls) >= p_min_calls
$$;

CREATE OR REPLACE VIEW alert_unpriced_models_now AS
SELECT * FROM alert_unpriced_models(now());
