CREATE OR REPLACE VIEW unpriced_models AS
SELECT model,
       provider,
       count(*)                                          AS calls,
       count(*) FILTER (WHERE total_cost_usd IS NULL)    AS calls_without_cost,
       min(ts)                                           AS first_seen,
       max(ts)                                           AS last_seen,
       sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) AS tokens
FROM agent_spend_logs
WHERE list_cost_usd IS NULL
GROUP BY model, provider;

COMMENT ON VIEW unpriced_models IS
    'Models without a list price (unknown to genai-prices and to the price overrides file).';
