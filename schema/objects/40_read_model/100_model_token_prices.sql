-- Per-token prices each model is currently billed at, derived from the per-bucket costs of
-- its latest (at most 2,000) metered, standard-tier calls: bucket cost / bucket tokens.
-- Derived rather than configured so it follows whatever prices the bridge applied (list
-- prices, overrides, emitter-reported splits). NULL where no recent call carries the split.
-- The model list comes from a loose index scan of (model, ts), so this reads a few thousand
-- index entries, not the table.
CREATE OR REPLACE VIEW model_token_prices AS
WITH RECURSIVE known (model) AS (
    SELECT min(model) FROM spend_calls
    UNION ALL
    SELECT (SELECT min(c.model) FROM spend_calls c WHERE c.model > k.model) FROM known k WHERE k.model IS NOT NULL
)
SELECT k.model,
       sum(r.input_cost_usd) FILTER (WHERE r.input_tokens > 0 AND r.input_cost_usd IS NOT NULL)
           / nullif(sum(r.input_tokens) FILTER (WHERE r.input_tokens > 0 AND r.input_cost_usd IS NOT NULL), 0)
           AS usd_per_input_token,
       sum(r.output_cost_usd) FILTER (WHERE r.output_tokens > 0 AND r.output_cost_usd IS NOT NULL)
           / nullif(sum(r.output_tokens) FILTER (WHERE r.output_tokens > 0 AND r.output_cost_usd IS NOT NULL), 0)
           AS usd_per_output_token,
       sum(r.cache_read_cost_usd) FILTER (WHERE r.cache_read_tokens > 0 AND r.cache_read_cost_usd IS NOT NULL)
           / nullif(sum(r.cache_read_tokens)
                    FILTER (WHERE r.cache_read_tokens > 0 AND r.cache_read_cost_usd IS NOT NULL), 0)
           AS usd_per_cache_read_token,
       sum(r.cache_write_cost_usd) FILTER (WHERE r.cache_write_tokens > 0 AND r.cache_write_cost_usd IS NOT NULL)
           / nullif(sum(r.cache_write_tokens)
                    FILTER (WHERE r.cache_write_tokens > 0 AND r.cache_write_cost_usd IS NOT NULL), 0)
           AS usd_per_cache_write_token,
       count(r.id) AS sample_calls
FROM known k
CROSS JOIN LATERAL (
    SELECT c.* FROM spend_calls c WHERE c.model = k.model ORDER BY c.ts DESC LIMIT 2000
) r
WHERE k.model IS NOT NULL AND r.cost_estimation = 'metered' AND NOT r.is_long_context
GROUP BY k.model;
