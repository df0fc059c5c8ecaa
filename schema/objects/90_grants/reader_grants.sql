-- What the read-only group role agent_spend_reader (00_roles/reader_role.sql) may use:
-- the rollup tables, the read model's views and the functions and types the dashboards
-- call. Never agent_spend_logs itself: views run with their owner's rights. A new table,
-- view, type or function the dashboards read is added here.

GRANT SELECT ON
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
    ingest_rejection_log,
    ingest_summary,
    model_token_prices,
    session_log,
    spend_by_day,
    spend_by_day_coarse,
    spend_by_day_user,
    spend_by_hour,
    spend_by_hour_coarse,
    spend_by_hour_team,
    spend_calls,
    team_budget_status,
    unpriced_models
TO agent_spend_reader;

GRANT USAGE ON TYPE spend_row, spend_total_row, spend_user_row TO agent_spend_reader;

GRANT EXECUTE ON FUNCTION
    active_sessions(interval,text[],text[],text[],text[],text[],text[],timestamp with time zone),
    arrival_delay(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    arrival_delay_stats(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
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
    team_budget_status_at(timestamp with time zone),
    month_to_date(text[],text[],text[],text[],text[],text[],timestamp with time zone),
    org_totals(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    pricing_gaps(timestamp with time zone,timestamp with time zone,text[],text[],text[],text[],text[],text[]),
    rejections_by_reason(timestamp with time zone,timestamp with time zone),
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
