-- One row of partial sums, the result of spend_between (40_read_model/070_spend_between.sql).
DO $$
BEGIN
    CREATE TYPE spend_row AS (
        user_id text, team text, model text, provider text, harness text, repository text, branch text,
        environment text, cost_estimation text, is_ci boolean, is_developer boolean,
        calls numeric, error_calls numeric, unpriced_calls numeric, long_context_calls numeric,
        input_tokens numeric, output_tokens numeric, cache_read_tokens numeric, cache_write_tokens numeric,
        reasoning_tokens numeric, prompt_tokens numeric, total_tokens numeric,
        cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric
    );
EXCEPTION WHEN duplicate_object THEN
    NULL;  -- already there: a change of attributes needs its own ALTER TYPE here
END
$$;
