-- The figures of `agent-spend report daily|weekly|monthly` and of the API's summary and
-- breakdown (docs/reports.md): calls, tokens and costs per period (UTC day, ISO week
-- starting Monday, UTC month, or 'range' for the whole range, dated p_first) and per value of
-- one dimension (p_by: team, user, model, repo, harness, provider; NULL for none), over the
-- whole UTC days p_first .. p_last, with the six dashboard filters ('{__all}' = All).
-- Whole days only, so every row comes from a daily rollup, never from hours or raw calls:
--   spend_by_day_coarse when neither the user nor the repository is filtered or grouped by;
--   else spend_by_day_user when the harness and repository filters are on All and the
--        grouping is by team, user or model;
--   else spend_by_day (the fine daily rollup).
-- The three guards are exclusive, so exactly one branch returns rows.
CREATE OR REPLACE FUNCTION report_spend(
    p_first date, p_last date, p_grain text, p_by text,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    period date, key text, calls numeric, error_calls numeric, unpriced_calls numeric,
    input_tokens numeric, output_tokens numeric, cache_read_tokens numeric, cache_write_tokens numeric,
    total_tokens numeric, cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH d AS (
        SELECT c.bucket,
               CASE p_by WHEN 'team' THEN c.team WHEN 'model' THEN c.model WHEN 'provider' THEN c.provider
                         WHEN 'harness' THEN c.harness END AS key,
               c.calls, c.error_calls, c.unpriced_calls, c.input_tokens, c.output_tokens,
               c.cache_read_tokens, c.cache_write_tokens, c.total_tokens, c.cost_usd, c.list_cost_usd,
               c.reported_cost_usd
        FROM spend_by_day_coarse c
        WHERE '__all' = ANY (p_user) AND '__all' = ANY (p_repository) AND coalesce(p_by, '') NOT IN ('user', 'repo')
          AND c.bucket >= p_first::timestamp AT TIME ZONE 'UTC'
          AND c.bucket < (p_last + 1)::timestamp AT TIME ZONE 'UTC'
          AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
          AND spend_dim_match(c.model, p_model) AND spend_dim_match(c.harness, p_harness)
        UNION ALL
        SELECT u.bucket,
               CASE p_by WHEN 'team' THEN u.team WHEN 'user' THEN u.user_id WHEN 'model' THEN u.model END,
               u.calls, u.error_calls, u.unpriced_calls, u.input_tokens, u.output_tokens,
               u.cache_read_tokens, u.cache_write_tokens, u.total_tokens, u.cost_usd, u.list_cost_usd,
               u.reported_cost_usd
        FROM spend_by_day_user u
        WHERE NOT ('__all' = ANY (p_user) AND '__all' = ANY (p_repository) AND coalesce(p_by, '') NOT IN ('user', 'repo'))
          AND '__all' = ANY (p_harness) AND '__all' = ANY (p_repository)
          AND coalesce(p_by, '') NOT IN ('repo', 'harness', 'provider')
          AND u.bucket >= p_first::timestamp AT TIME ZONE 'UTC'
          AND u.bucket < (p_last + 1)::timestamp AT TIME ZONE 'UTC'
          AND spend_dim_match(u.environment, p_environment) AND spend_dim_match(u.team, p_team)
          AND spend_dim_match(u.user_id, p_user) AND spend_dim_match(u.model, p_model)
        UNION ALL
        SELECT f.bucket,
               CASE p_by WHEN 'team' THEN f.team WHEN 'user' THEN f.user_id WHEN 'model' THEN f.model
                         WHEN 'repo' THEN f.repository WHEN 'harness' THEN f.harness
                         WHEN 'provider' THEN f.provider END,
               f.calls, f.error_calls, f.unpriced_calls, f.input_tokens, f.output_tokens,
               f.cache_read_tokens, f.cache_write_tokens, f.total_tokens, f.cost_usd, f.list_cost_usd,
               f.reported_cost_usd
        FROM spend_by_day f
        WHERE NOT ('__all' = ANY (p_user) AND '__all' = ANY (p_repository) AND coalesce(p_by, '') NOT IN ('user', 'repo'))
          AND NOT ('__all' = ANY (p_harness) AND '__all' = ANY (p_repository)
                   AND coalesce(p_by, '') NOT IN ('repo', 'harness', 'provider'))
          AND f.bucket >= p_first::timestamp AT TIME ZONE 'UTC'
          AND f.bucket < (p_last + 1)::timestamp AT TIME ZONE 'UTC'
          AND spend_dim_match(f.environment, p_environment) AND spend_dim_match(f.team, p_team)
          AND spend_dim_match(f.user_id, p_user) AND spend_dim_match(f.model, p_model)
          AND spend_dim_match(f.harness, p_harness) AND spend_dim_match(f.repository, p_repository)
    )
    SELECT CASE p_grain WHEN 'range' THEN p_first ELSE date_trunc(p_grain, d.bucket AT TIME ZONE 'UTC')::date END,
           d.key, sum(d.calls), sum(d.error_calls), sum(d.unpriced_calls), sum(d.input_tokens),
           sum(d.output_tokens), sum(d.cache_read_tokens), sum(d.cache_write_tokens), sum(d.total_tokens),
           sum(d.cost_usd), sum(d.list_cost_usd), sum(d.reported_cost_usd)
    FROM d
    GROUP BY 1, 2
$$;
