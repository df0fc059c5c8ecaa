-- What the read-only group role agent_spend_reader (00_roles/reader_role.sql) may use:
-- the rollup tables, the read model's views and the functions and types the dashboards
-- call. Never agent_spend_logs itself: views run with their owner's rights. A new table,
-- view, type or function the dashboards read is added here.

GRANT SELECT ON
    billing_lines,
    billing_sync,
    budgets,
    retention_state,
    session_rollup,
    spend_daily,
    spend_daily_coarse,
    spend_daily_repo,
    spend_daily_user,
    spend_hourly,
    spend_hourly_coarse,
    spend_hourly_team,
    teams,
    users
TO agent_spend_reader;

GRANT SELECT ON
    budget_state,
    ingest_rejection_log,
    ingest_summary,
    model_token_prices,
    reconcile_sync,
    session_log,
    spend_by_day,
    spend_by_day_coarse,
    spend_by_day_user,
    spend_by_hour,
    spend_by_hour_coarse,
    spend_by_hour_team,
    spend_calls,
    unpriced_models
TO agent_spend_reader;

GRANT USAGE ON TYPE spend_row, spend_total_row, spend_user_row TO agent_spend_reader;

GRANT EXECUTE ON FUNCTION
    active_sessions(interval,text[],text[],text[],text[],text[],text[],timestamp with time zone),
    arrival_delay(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    arrival_delay_stats(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    budget_period_series(text,timestamp with time zone,timestamp with time zone),
    budget_periods(timestamp with time zone,timestamp with time zone),
    budget_spent(text,timestamp with time zone,timestamp with time zone),
    budget_state_at(timestamp with time zone),
    burn_rate_now(text[],text[],text[],text[],text[],text[],timestamp with time zone),
    cache_busting_sessions(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[],numeric,bigint),
    cache_writes_unread(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[],interval),
    calls_filtered(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    clock_skew(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[],interval),
    developer_cost_per_day(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    developer_summary(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    dimension_values(timestamp with time zone,timestamp with time zone),
    long_context_requests(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    model_cache_efficiency(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    month_to_date(text[],text[],text[],text[],text[],text[],timestamp with time zone),
    org_totals(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    pricing_gaps(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    reconcile_billed(date,date),
    reconcile_day_range(timestamp with time zone,timestamp with time zone),
    reconcile_days(timestamp with time zone,timestamp with time zone,text[]),
    reconcile_periods(date,date),
    reconcile_sources(date,date),
    reconcile_telemetry(date,date),
    reconcile_totals(timestamp with time zone,timestamp with time zone,text[]),
    reconcile_unbilled(timestamp with time zone,timestamp with time zone,text[]),
    reconcile_unmonitored(timestamp with time zone,timestamp with time zone,text[]),
    reconcile_users(timestamp with time zone,timestamp with time zone,text[],text[]),
    rejections_by_reason(timestamp with time zone,timestamp with time zone),
    report_chargeback(date,date,text),
    report_spend(date,date,text,text,text[],text[],text[],text[],text[],text[]),
    repository_rows(timestamp with time zone,timestamp with time zone),
    repository_summary(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    rows_by_source(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    session_summary(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    spend_between(timestamp with time zone,timestamp with time zone),
    spend_between_coarse(timestamp with time zone,timestamp with time zone),
    spend_between_user(timestamp with time zone,timestamp with time zone),
    spend_by_cost_estimation(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    spend_day_ceil(timestamp with time zone),
    spend_dim_match(text,text[]),
    spend_exact_from(timestamp with time zone),
    spend_filtered(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    spend_hour_ceil(timestamp with time zone),
    spend_hour_totals(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    spend_range_bounds(timestamp with time zone,timestamp with time zone),
    spend_retention_horizon(),
    spend_totals(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    spend_user_days(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    spend_users(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    team_summary(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    unknown_identity(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[])
TO agent_spend_reader;

-- The alert kinds (60_alerts/, docs/alerts.md): Grafana's provisioned alert rules read the
-- views; alert_state / alert_deliveries are the runner's and stay private.
GRANT SELECT ON
    alert_anomalies_now,
    alert_budget_projected_now,
    alert_budget_thresholds_now,
    alert_reconcile_coverage_now,
    alert_runaway_sessions_now,
    alert_silent_telemetry_now,
    alert_unpriced_models_now,
    alerts_firing
TO agent_spend_reader;

GRANT EXECUTE ON FUNCTION
    alert_anomalies(timestamp with time zone,numeric,numeric,integer),
    alert_budget_projected(timestamp with time zone,numeric),
    alert_budget_thresholds(timestamp with time zone),
    alert_reconcile_coverage(timestamp with time zone,numeric,integer,numeric),
    alert_runaway_sessions(timestamp with time zone,numeric,numeric,numeric,interval,integer),
    alert_silent_telemetry(timestamp with time zone,integer,integer,integer),
    alert_unpriced_models(timestamp with time zone,interval,integer),
    alerts_firing_at(timestamp with time zone)
TO agent_spend_reader;
