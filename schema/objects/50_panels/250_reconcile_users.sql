-- Billed beside telemetry per provider, UTC day, user and model, where a report names users
-- (user_ref: Claude Code analytics gives the user's email, which is what telemetry stores as
-- user_id). Per provider-day the report is the first of 'usage', 'csv_usage', 'claude_code'
-- with lines naming a user (the precedence of reconcile_sources). Telemetry comes from the
-- daily rollup and counts every call of the user to that provider and model, seat-plan
-- calls included (the analytics report covers seat users too); against 'claude_code' only
-- the calls of harness claude-code. Billed dollars are the report's (Claude Code's are an
-- estimate at list prices), so dollar coverage compares them with the list-price value of
-- the telemetry. User and model filters apply; days outside the range are never read.
CREATE OR REPLACE FUNCTION reconcile_users(
    p_from timestamptz, p_to timestamptz, p_model text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}'
) RETURNS TABLE (
    provider text, day date, user_id text, model text, report text, billed_tokens numeric, billed_usd numeric,
    telemetry_calls numeric, telemetry_tokens numeric, telemetry_cost_usd numeric, telemetry_list_usd numeric,
    telemetry_reported_usd numeric, coverage_tokens_ratio numeric, coverage_usd_ratio numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH r AS (SELECT * FROM reconcile_day_range(p_from, p_to)),
    sources AS (
        SELECT l.provider, l.day,
               (ARRAY['usage', 'csv_usage', 'claude_code'])[
                   min(array_position(ARRAY['usage', 'csv_usage', 'claude_code'], l.report))] AS report
        FROM billing_lines l, r
        WHERE l.day BETWEEN r.first_day AND r.last_day AND l.user_ref <> ''
          AND l.report IN ('usage', 'csv_usage', 'claude_code')
        GROUP BY l.provider, l.day
    ),
    billed AS (
        SELECT l.provider, l.day, l.user_ref AS user_id, l.model, s.report,
               sum(l.input_tokens + l.cache_read_tokens + l.cache_write_tokens + l.output_tokens) AS tokens,
               sum(l.cost_usd) AS usd
        FROM billing_lines l
        JOIN sources s ON s.provider = l.provider AND s.day = l.day AND s.report = l.report
        WHERE l.user_ref <> '' AND spend_dim_match(l.model, p_model) AND spend_dim_match(l.user_ref, p_user)
        GROUP BY l.provider, l.day, l.user_ref, l.model, s.report
    ),
    seen AS (
        SELECT d.provider, (d.bucket AT TIME ZONE 'UTC')::date AS day, d.user_id, d.model, s.report,
               sum(d.calls) AS calls,
               sum(d.input_tokens + d.cache_read_tokens + d.cache_write_tokens + d.output_tokens) AS tokens,
               sum(d.cost_usd) AS cost, sum(d.list_cost_usd) AS list, sum(d.reported_cost_usd) AS reported
        FROM spend_daily d
        JOIN r ON d.bucket >= r.first_day::timestamp AT TIME ZONE 'UTC'
              AND d.bucket < (r.last_day + 1)::timestamp AT TIME ZONE 'UTC'
        JOIN sources s ON s.provider = d.provider AND s.day = (d.bucket AT TIME ZONE 'UTC')::date
        WHERE (s.report <> 'claude_code' OR d.harness_name = 'claude-code')
          AND spend_dim_match(d.model, p_model) AND spend_dim_match(d.user_id, p_user)
        GROUP BY d.provider, (d.bucket AT TIME ZONE 'UTC')::date, d.user_id, d.model, s.report
    )
    SELECT coalesce(b.provider, t.provider), coalesce(b.day, t.day), coalesce(b.user_id, t.user_id),
           coalesce(b.model, t.model), coalesce(b.report, t.report),
           coalesce(b.tokens, 0), coalesce(b.usd, 0),
           coalesce(t.calls, 0), coalesce(t.tokens, 0), coalesce(t.cost, 0), coalesce(t.list, 0),
           coalesce(t.reported, 0),
           coalesce(t.tokens, 0) / nullif(b.tokens, 0), coalesce(t.list, 0) / nullif(b.usd, 0)
    FROM billed b
    FULL JOIN seen t ON t.provider = b.provider AND t.day = b.day AND t.user_id = b.user_id AND t.model = b.model
$$;
