-- Test oracle, not schema: model_token_prices as the plain view over every partition defined
-- it before it read each model's sample with literal day bounds (issue 12). The live view in
-- schema/objects must return exactly what this returns. Loaded by
-- tests/support/rollups.py reference_function().
CREATE OR REPLACE VIEW pg_temp.ref_model_token_prices AS
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
