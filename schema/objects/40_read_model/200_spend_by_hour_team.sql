CREATE OR REPLACE VIEW spend_by_hour_team AS
SELECT
    bucket,
    team,
    environment,
    calls,
    error_calls,
    unpriced_calls,
    long_context_calls,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_write_tokens,
    reasoning_tokens,
    input_tokens + cache_read_tokens + cache_write_tokens AS prompt_tokens,
    input_tokens + cache_read_tokens + cache_write_tokens + output_tokens AS total_tokens,
    cost_usd,
    list_cost_usd,
    reported_cost_usd
FROM spend_hourly_team;
