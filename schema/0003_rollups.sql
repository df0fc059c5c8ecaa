-- Pre-aggregated spend, maintained incrementally from agent_spend_logs (see triggers
-- below), so dashboards over months of history read thousands of rows, not millions.
-- Dimension columns are NOT NULL ('' for "none") so they can be part of the key.

CREATE TABLE spend_hourly (
    bucket              TIMESTAMPTZ NOT NULL,   -- date_trunc('hour', ts) in UTC
    user_id             TEXT NOT NULL,
    team                TEXT NOT NULL,
    model               TEXT NOT NULL,
    provider            TEXT NOT NULL,
    harness_name        TEXT NOT NULL,
    workspace_repo      TEXT NOT NULL,          -- '' when unknown
    workspace_branch    TEXT NOT NULL,          -- '' when unknown
    environment         TEXT NOT NULL,
    cost_estimation     TEXT NOT NULL,
    workspace_is_ci     BOOLEAN NOT NULL,
    calls               BIGINT NOT NULL DEFAULT 0,
    error_calls         BIGINT NOT NULL DEFAULT 0,
    unpriced_calls      BIGINT NOT NULL DEFAULT 0,  -- total_cost_usd IS NULL
    long_context_calls  BIGINT NOT NULL DEFAULT 0,  -- input+cache_read+cache_write > 200000
    input_tokens        NUMERIC NOT NULL DEFAULT 0,
    output_tokens       NUMERIC NOT NULL DEFAULT 0,
    cache_read_tokens   NUMERIC NOT NULL DEFAULT 0,
    cache_write_tokens  NUMERIC NOT NULL DEFAULT 0,
    reasoning_tokens    NUMERIC NOT NULL DEFAULT 0,
    cost_usd            NUMERIC NOT NULL DEFAULT 0,  -- sum(coalesce(total_cost_usd, 0))
    list_cost_usd       NUMERIC NOT NULL DEFAULT 0,  -- sum(coalesce(list_cost_usd, 0))
    reported_cost_usd   NUMERIC NOT NULL DEFAULT 0,  -- sum(coalesce(reported_cost_usd, 0))
    PRIMARY KEY (bucket, user_id, team, model, provider, harness_name, workspace_repo, workspace_branch,
                 environment, cost_estimation, workspace_is_ci)
);

CREATE TABLE spend_daily (LIKE spend_hourly INCLUDING ALL);  -- bucket = date_trunc('day', ts) in UTC

CREATE INDEX spend_hourly_bucket ON spend_hourly (bucket);
CREATE INDEX spend_daily_bucket ON spend_daily (bucket);
