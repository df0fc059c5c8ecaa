-- Billed beside telemetry per provider, UTC day and model (docs/reconcile.md, "Reading the
-- figures"), for the UTC days the range touches that lie in the provider's billed period
-- (reconcile_periods). Billed figures follow reconcile_sources' precedence; within the
-- period a day or model with no line was billed 0. A provider none of whose lines in the
-- range carries tokens (or dollars) has NULL billed tokens (dollars): not comparable.
-- Telemetry excludes seat-plan calls, shown apart (seat_*).
--   coverage = telemetry / billed (tokens: all four buckets; dollars: the dashboards'
--              cost), NULL when nothing was billed;
--   unseen   = billed - telemetry where positive: spend no telemetry saw;
--   unbilled = telemetry - billed where positive: telemetry with no bill behind it.
CREATE OR REPLACE FUNCTION reconcile_days(
    p_from timestamptz, p_to timestamptz, p_model text[] DEFAULT '{__all}'
) RETURNS TABLE (
    provider text, day date, model text, tokens_report text, usd_report text,
    billed_input_tokens numeric, billed_cache_read_tokens numeric, billed_cache_write_tokens numeric,
    billed_output_tokens numeric, billed_tokens numeric, billed_usd numeric,
    telemetry_calls numeric, telemetry_input_tokens numeric, telemetry_cache_read_tokens numeric,
    telemetry_cache_write_tokens numeric, telemetry_output_tokens numeric, telemetry_tokens numeric,
    telemetry_cost_usd numeric, telemetry_list_usd numeric, telemetry_reported_usd numeric,
    seat_calls numeric, seat_tokens numeric, seat_list_usd numeric,
    coverage_tokens_ratio numeric, coverage_usd_ratio numeric,
    unseen_tokens numeric, unseen_usd numeric, unbilled_tokens numeric, unbilled_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH r AS (SELECT * FROM reconcile_day_range(p_from, p_to)),
    periods AS (SELECT p.* FROM r, reconcile_periods(r.first_day, r.last_day) p),
    sources AS (SELECT s.* FROM r, reconcile_sources(r.first_day, r.last_day) s),
    comparable AS (
        SELECT s.provider, bool_or(s.tokens_report IS NOT NULL) AS tokens, bool_or(s.usd_report IS NOT NULL) AS usd
        FROM sources s
        GROUP BY s.provider
    ),
    cells AS (
        SELECT coalesce(b.provider, t.provider) AS provider, coalesce(b.day, t.day) AS day,
               coalesce(b.model, t.model) AS model,
               b.input_tokens AS b_in, b.cache_read_tokens AS b_cr, b.cache_write_tokens AS b_cw,
               b.output_tokens AS b_out, b.cost_usd AS b_usd,
               t.calls, t.input_tokens AS t_in, t.cache_read_tokens AS t_cr,
               t.cache_write_tokens AS t_cw, t.output_tokens AS t_out, t.cost_usd AS t_usd,
               t.list_cost_usd AS t_list, t.reported_cost_usd AS t_rep, t.seat_calls, t.seat_tokens,
               t.seat_list_cost_usd AS seat_list
        FROM (SELECT b.* FROM r, reconcile_billed(r.first_day, r.last_day) b) b
        FULL JOIN (SELECT t.* FROM r, reconcile_telemetry(r.first_day, r.last_day) t) t
            ON t.provider = b.provider AND t.day = b.day AND t.model = b.model
    ),
    rows AS (
        SELECT c.provider, c.day, c.model, s.tokens_report, s.usd_report,
               CASE WHEN k.tokens THEN coalesce(c.b_in, 0) END AS b_in,
               CASE WHEN k.tokens THEN coalesce(c.b_cr, 0) END AS b_cr,
               CASE WHEN k.tokens THEN coalesce(c.b_cw, 0) END AS b_cw,
               CASE WHEN k.tokens THEN coalesce(c.b_out, 0) END AS b_out,
               CASE WHEN k.usd THEN coalesce(c.b_usd, 0) END AS b_usd,
               coalesce(c.calls, 0) AS calls, coalesce(c.t_in, 0) AS t_in, coalesce(c.t_cr, 0) AS t_cr,
               coalesce(c.t_cw, 0) AS t_cw, coalesce(c.t_out, 0) AS t_out, coalesce(c.t_usd, 0) AS t_usd,
               coalesce(c.t_list, 0) AS t_list, coalesce(c.t_rep, 0) AS t_rep,
               coalesce(c.seat_calls, 0) AS seat_calls, coalesce(c.seat_tokens, 0) AS seat_tokens,
               coalesce(c.seat_list, 0) AS seat_list
        FROM cells c
        JOIN periods p ON p.provider = c.provider AND c.day BETWEEN p.billed_from AND p.billed_through
        LEFT JOIN comparable k ON k.provider = c.provider
        LEFT JOIN sources s ON s.provider = c.provider AND s.day = c.day
        WHERE spend_dim_match(c.model, p_model)
    )
    SELECT x.provider, x.day, x.model, x.tokens_report, x.usd_report,
           x.b_in, x.b_cr, x.b_cw, x.b_out, x.b_tokens, x.b_usd,
           x.calls, x.t_in, x.t_cr, x.t_cw, x.t_out, x.t_tokens, x.t_usd, x.t_list, x.t_rep,
           x.seat_calls, x.seat_tokens, x.seat_list,
           x.t_tokens / nullif(x.b_tokens, 0), x.t_usd / nullif(x.b_usd, 0),
           -- greatest() ignores NULLs: a figure not comparable stays NULL through the CASE.
           CASE WHEN x.b_tokens IS NOT NULL THEN greatest(x.b_tokens - x.t_tokens, 0) END,
           CASE WHEN x.b_usd IS NOT NULL THEN greatest(x.b_usd - x.t_usd, 0) END,
           CASE WHEN x.b_tokens IS NOT NULL THEN greatest(x.t_tokens - x.b_tokens, 0) END,
           CASE WHEN x.b_usd IS NOT NULL THEN greatest(x.t_usd - x.b_usd, 0) END
    FROM (
        SELECT w.*, w.b_in + w.b_cr + w.b_cw + w.b_out AS b_tokens, w.t_in + w.t_cr + w.t_cw + w.t_out AS t_tokens
        FROM rows w
    ) x
$$;
