-- Per-token prices each model is currently billed at, derived from the per-bucket costs of
-- its latest (at most 2,000) calls that are metered and standard-tier: bucket cost / bucket
-- tokens. Derived rather than configured so it follows whatever prices the bridge applied
-- (list prices, overrides, emitter-reported splits). NULL where no recent call carries the
-- split; a model none of whose latest 2,000 calls is metered and standard-tier is absent.
--
-- Why a function behind the view: agent_spend_logs has a partition per day (migration
-- 0012), and a query over all of them is planned over every partition and its indexes
-- (60 ms at 90 days, before it reads a row). The rollups know each model's latest day, so
-- each model's sample is read with literal day bounds that prune at plan time: first the
-- latest two days, widened (a week, 31 days, everything) only while the window holds fewer
-- than 2,000 calls. The sample is the same latest 2,000 calls either way: a window that
-- reaches past the model's newest call and holds 2,000 calls holds the newest 2,000.
CREATE OR REPLACE FUNCTION model_token_prices_sample()
RETURNS TABLE (
    model text, usd_per_input_token numeric, usd_per_output_token numeric,
    usd_per_cache_read_token numeric, usd_per_cache_write_token numeric, sample_calls bigint
)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    sample CONSTANT int := 2000;
    m record;
    widen interval;
    seen bigint;
    aggregate CONSTANT text := $q$
        SELECT count(*),
               sum(a.input_cost_usd) FILTER (WHERE a.ok AND a.input_tokens > 0 AND a.input_cost_usd IS NOT NULL)
                   / nullif(sum(a.input_tokens)
                            FILTER (WHERE a.ok AND a.input_tokens > 0 AND a.input_cost_usd IS NOT NULL), 0),
               sum(a.output_cost_usd) FILTER (WHERE a.ok AND a.output_tokens > 0 AND a.output_cost_usd IS NOT NULL)
                   / nullif(sum(a.output_tokens)
                            FILTER (WHERE a.ok AND a.output_tokens > 0 AND a.output_cost_usd IS NOT NULL), 0),
               sum(a.cache_read_cost_usd)
                   FILTER (WHERE a.ok AND a.cache_read_tokens > 0 AND a.cache_read_cost_usd IS NOT NULL)
                   / nullif(sum(a.cache_read_tokens)
                            FILTER (WHERE a.ok AND a.cache_read_tokens > 0 AND a.cache_read_cost_usd IS NOT NULL), 0),
               sum(a.cache_write_cost_usd)
                   FILTER (WHERE a.ok AND a.cache_write_tokens > 0 AND a.cache_write_cost_usd IS NOT NULL)
                   / nullif(sum(a.cache_write_tokens)
                            FILTER (WHERE a.ok AND a.cache_write_tokens > 0 AND a.cache_write_cost_usd IS NOT NULL), 0),
               count(*) FILTER (WHERE a.ok)
        FROM (
            SELECT c.input_tokens, c.output_tokens, c.cache_read_tokens, c.cache_write_tokens,
                   c.input_cost_usd, c.output_cost_usd, c.cache_read_cost_usd, c.cache_write_cost_usd,
                   (c.cost_estimation = 'metered' AND NOT c.is_long_context) AS ok
            FROM spend_calls c
            WHERE c.model = $1 AND c.ts < %L %s
            ORDER BY c.ts DESC LIMIT %s
        ) a
    $q$;
BEGIN
    FOR m IN
        SELECT d.model, max(d.bucket) + interval '1 day' AS until
        FROM spend_daily_coarse d GROUP BY d.model ORDER BY d.model
    LOOP
        FOREACH widen IN ARRAY ARRAY[interval '2 days', interval '7 days', interval '31 days', NULL] LOOP
            EXECUTE format(aggregate, m.until,
                           CASE WHEN widen IS NULL THEN '' ELSE format('AND c.ts >= %L', m.until - widen) END,
                           sample)
                INTO seen, usd_per_input_token, usd_per_output_token, usd_per_cache_read_token,
                     usd_per_cache_write_token, sample_calls
                USING m.model;
            EXIT WHEN seen >= sample;
        END LOOP;
        IF sample_calls > 0 THEN
            model := m.model;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;

CREATE OR REPLACE VIEW model_token_prices AS
SELECT model, usd_per_input_token, usd_per_output_token, usd_per_cache_read_token,
       usd_per_cache_write_token, sample_calls
FROM model_token_prices_sample();
