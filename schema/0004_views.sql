-- 0004: the read model of the Grafana dashboards.
--
-- Every panel reads one of the views or functions below, so the definitions of "cost",
-- "active developer", "cache hit ratio" or "projected month-end" live here once, not in
-- panel SQL. Three access paths, chosen by what a panel needs:
--
--   * spend_by_hour / spend_by_day: the rollup tables with dashboard column names, for
--     time series (the panel filters on `bucket` and groups by its own grain).
--   * spend_between(from, to): exact totals for an arbitrary range, stitched together from
--     whole days (spend_daily), whole hours (spend_hourly) and the raw rows of the partial
--     hours at both edges, so a stat panel equals sum(total_cost_usd) over the raw table
--     while reading thousands of rows, not millions. Everything ranged builds on it.
--   * spend_calls: the raw table with the same names; per-call and per-session analyses
--     read it through its indexes, always bounded by time, session or user.
--
-- Ranged summaries are SQL functions (LANGUAGE sql, STABLE, not STRICT, SECURITY INVOKER,
-- no SET clause) so the planner inlines them into the panel query: the time bounds and
-- dimension filters reach the index scans. The three that sort every call of a window set
-- work_mem instead and run as plain functions. All take the six dashboard filters as text
-- arrays; Grafana passes ARRAY[${var:sqlstring}], which is ARRAY['__all'] for "All" (the
-- variables' allValue) and ARRAY['a','b'] for a selection. The functions read only the
-- views of this file, and views run with their owner's rights, so the reader role needs
-- SELECT on the views and nothing on the underlying tables.
--
-- Time boundaries are UTC, like the rollup buckets, whatever the session TimeZone.

-- 0003 creates the reader role; repeated here so these grants never depend on it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'agent_spend_reader') THEN
        CREATE ROLE agent_spend_reader NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- roles are cluster-wide: a migration of another database created it meanwhile
END
$$;

-- ---------------------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------------------

-- The dashboard filter test: "All" selected, or the value is one of the selected ones.
-- Inlined by the planner; with constant arrays the "All" case folds away entirely.
CREATE FUNCTION spend_dim_match(p_value text, p_selected text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '__all' = ANY (p_selected) OR p_value = ANY (p_selected) $$;

-- First UTC hour / day boundary at or after p_ts (24 hours, not '1 day': a day interval
-- follows the session time zone across daylight-saving changes).
CREATE FUNCTION spend_hour_ceil(p_ts timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT date_trunc('hour', p_ts, 'UTC')
        + CASE WHEN date_trunc('hour', p_ts, 'UTC') < p_ts THEN interval '1 hour' ELSE interval '0' END
$$;

CREATE FUNCTION spend_day_ceil(p_ts timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT date_trunc('day', p_ts, 'UTC')
        + CASE WHEN date_trunc('day', p_ts, 'UTC') < p_ts THEN interval '24 hours' ELSE interval '0' END
$$;

-- Where an exact range may start: raw rows before the retention horizon (0003) are gone,
-- so a range starting there begins at its UTC day and is served by the daily rollup.
CREATE FUNCTION spend_exact_from(p_from timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN p_from < spend_retention_horizon() THEN date_trunc('day', p_from, 'UTC') ELSE p_from END
$$;

-- ---------------------------------------------------------------------------------------
-- Base views
-- ---------------------------------------------------------------------------------------

-- One row per model call. `repository`/`branch` use '(none)' for unknown, the same value
-- the rollup views show for the rollups' '' key, so filters match on both paths.
CREATE VIEW spend_calls AS
SELECT
    id,
    ts,
    ingest_ts,
    ts + make_interval(secs => coalesce(duration_ms, 0) / 1000.0) AS end_ts,
    source,
    signal,
    user_id,
    team,
    session_id,
    machine_id,
    coalesce(nullif(workspace_repo, ''), '(none)') AS repository,
    coalesce(nullif(workspace_branch, ''), '(none)') AS branch,
    workspace_is_ci AS is_ci,
    (NOT workspace_is_ci AND user_id <> 'unknown') AS is_developer,
    environment,
    provider,
    model,
    harness_name AS harness,
    harness_version,
    operation,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_write_tokens,
    reasoning_tokens,
    input_tokens + cache_read_tokens + cache_write_tokens AS prompt_tokens,
    input_tokens + cache_read_tokens + cache_write_tokens + output_tokens AS total_tokens,
    (input_tokens + cache_read_tokens + cache_write_tokens > 200000) AS is_long_context,
    coalesce(total_cost_usd, 0) AS cost_usd,
    (total_cost_usd IS NULL) AS is_unpriced,
    list_cost_usd,
    reported_cost_usd,
    input_cost_usd,
    output_cost_usd,
    cache_read_cost_usd,
    cache_write_cost_usd,
    cost_estimation,
    cost_source,
    price_version,
    status,
    error,
    stop_reason,
    duration_ms
FROM agent_spend_logs;

CREATE VIEW spend_by_hour AS
SELECT
    bucket,
    user_id,
    team,
    model,
    provider,
    harness_name AS harness,
    CASE WHEN workspace_repo = '' THEN '(none)' ELSE workspace_repo END AS repository,
    CASE WHEN workspace_branch = '' THEN '(none)' ELSE workspace_branch END AS branch,
    environment,
    cost_estimation,
    workspace_is_ci AS is_ci,
    (NOT workspace_is_ci AND user_id <> 'unknown') AS is_developer,
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
FROM spend_hourly;

CREATE VIEW spend_by_day AS
SELECT
    bucket,
    user_id,
    team,
    model,
    provider,
    harness_name AS harness,
    CASE WHEN workspace_repo = '' THEN '(none)' ELSE workspace_repo END AS repository,
    CASE WHEN workspace_branch = '' THEN '(none)' ELSE workspace_branch END AS branch,
    environment,
    cost_estimation,
    workspace_is_ci AS is_ci,
    (NOT workspace_is_ci AND user_id <> 'unknown') AS is_developer,
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
FROM spend_daily;

CREATE VIEW ingest_summary AS
SELECT bucket, signal, records_received, rows_written, duplicates_skipped, rejected
FROM ingest_stats;

CREATE VIEW ingest_rejection_log AS
SELECT bucket, signal, reason, count AS rejected, example
FROM ingest_rejections;

-- ---------------------------------------------------------------------------------------
-- Exact range totals
-- ---------------------------------------------------------------------------------------

-- The boundaries of an exact range [p_from, p_to], UTC: `lo` where it really starts (see
-- spend_exact_from), hs/he the first and last whole hour, ds/de the first and last whole day,
-- hourly_end = min(ds, he) where the leading whole hours stop.
CREATE FUNCTION spend_range_bounds(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (lo timestamptz, hs timestamptz, hourly_end timestamptz, ds timestamptz, de timestamptz,
               he timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.lo, c.hs, least(c.ds, c.he), c.ds, greatest(date_trunc('day', c.he, 'UTC'), c.ds), c.he
    FROM (
        SELECT b.lo, b.hs, b.he, spend_day_ceil(b.hs) AS ds
        FROM (
            SELECT a.lo, spend_hour_ceil(a.lo) AS hs,
                   greatest(date_trunc('hour', p_to, 'UTC'), spend_hour_ceil(a.lo)) AS he
            FROM (SELECT spend_exact_from(p_from) AS lo) a
        ) b
    ) c
$$;

-- Rows of partial aggregates covering exactly [p_from, p_to] (inclusive, like Grafana's
-- $__timeFilter): whole UTC days from spend_daily, whole hours from spend_hourly, raw calls
-- for the partial hours at the edges. A dimension combination can appear on several rows:
-- always SUM. A range reaching before the retention horizon starts at its UTC day.
--   raw [lo, hs) + hourly [hs, hourly_end) + daily [ds, de) + hourly [de, he) + raw [he, to]
-- Five disjoint branches, each one index range. Each boundary is a scalar subquery, so it is
-- computed once per query (an InitPlan) and still an index condition, not a per-row filter.
CREATE TYPE spend_row AS (
    user_id text, team text, model text, provider text, harness text, repository text, branch text,
    environment text, cost_estimation text, is_ci boolean, is_developer boolean,
    calls numeric, error_calls numeric, unpriced_calls numeric, long_context_calls numeric,
    input_tokens numeric, output_tokens numeric, cache_read_tokens numeric, cache_write_tokens numeric,
    reasoning_tokens numeric, prompt_tokens numeric, total_tokens numeric,
    cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric
);

CREATE FUNCTION spend_between(p_from timestamptz, p_to timestamptz) RETURNS SETOF spend_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.user_id, c.team, c.model, c.provider, c.harness, c.repository, c.branch, c.environment,
           c.cost_estimation, c.is_ci, c.is_developer,
           1::numeric, (c.status = 'error')::int::numeric, c.is_unpriced::int::numeric,
           c.is_long_context::int::numeric, c.input_tokens::numeric, c.output_tokens::numeric,
           c.cache_read_tokens::numeric, c.cache_write_tokens::numeric, c.reasoning_tokens::numeric,
           c.prompt_tokens::numeric, c.total_tokens::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, coalesce(c.reported_cost_usd, 0)::numeric
    FROM spend_calls c
    WHERE c.ts >= (SELECT b.lo FROM spend_range_bounds(p_from, p_to) b) AND c.ts < (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b) AND c.ts <= p_to
    UNION ALL
    SELECT h.user_id, h.team, h.model, h.provider, h.harness, h.repository, h.branch, h.environment,
           h.cost_estimation, h.is_ci, h.is_developer,
           h.calls, h.error_calls, h.unpriced_calls, h.long_context_calls,
           h.input_tokens, h.output_tokens, h.cache_read_tokens, h.cache_write_tokens, h.reasoning_tokens,
           h.prompt_tokens, h.total_tokens, h.cost_usd, h.list_cost_usd, h.reported_cost_usd
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b) AND h.bucket < (SELECT b.hourly_end FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT d.user_id, d.team, d.model, d.provider, d.harness, d.repository, d.branch, d.environment,
           d.cost_estimation, d.is_ci, d.is_developer,
           d.calls, d.error_calls, d.unpriced_calls, d.long_context_calls,
           d.input_tokens, d.output_tokens, d.cache_read_tokens, d.cache_write_tokens, d.reasoning_tokens,
           d.prompt_tokens, d.total_tokens, d.cost_usd, d.list_cost_usd, d.reported_cost_usd
    FROM spend_by_day d
    WHERE d.bucket >= (SELECT b.ds FROM spend_range_bounds(p_from, p_to) b) AND d.bucket < (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT h.user_id, h.team, h.model, h.provider, h.harness, h.repository, h.branch, h.environment,
           h.cost_estimation, h.is_ci, h.is_developer,
           h.calls, h.error_calls, h.unpriced_calls, h.long_context_calls,
           h.input_tokens, h.output_tokens, h.cache_read_tokens, h.cache_write_tokens, h.reasoning_tokens,
           h.prompt_tokens, h.total_tokens, h.cost_usd, h.list_cost_usd, h.reported_cost_usd
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.de FROM spend_range_bounds(p_from, p_to) b) AND h.bucket < (SELECT b.he FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT c.user_id, c.team, c.model, c.provider, c.harness, c.repository, c.branch, c.environment,
           c.cost_estimation, c.is_ci, c.is_developer,
           1::numeric, (c.status = 'error')::int::numeric, c.is_unpriced::int::numeric,
           c.is_long_context::int::numeric, c.input_tokens::numeric, c.output_tokens::numeric,
           c.cache_read_tokens::numeric, c.cache_write_tokens::numeric, c.reasoning_tokens::numeric,
           c.prompt_tokens::numeric, c.total_tokens::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, coalesce(c.reported_cost_usd, 0)::numeric
    FROM spend_calls c
    WHERE c.ts >= (SELECT b.he FROM spend_range_bounds(p_from, p_to) b) AND c.ts <= p_to
$$;


-- spend_between narrowed by the six dashboard filters; the base of every ranged summary.
CREATE FUNCTION spend_filtered(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS SETOF spend_row
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.*
    FROM spend_between(p_from, p_to) s
    WHERE spend_dim_match(s.environment, p_environment) AND spend_dim_match(s.team, p_team)
      AND spend_dim_match(s.user_id, p_user) AND spend_dim_match(s.model, p_model)
      AND spend_dim_match(s.harness, p_harness) AND spend_dim_match(s.repository, p_repository)
$$;

-- Raw calls in [p_from, p_to] narrowed by the six dashboard filters.
CREATE FUNCTION calls_filtered(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS SETOF spend_calls
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.*
    FROM spend_calls c
    WHERE c.ts >= p_from AND c.ts <= p_to
      AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
      AND spend_dim_match(c.user_id, p_user) AND spend_dim_match(c.model, p_model)
      AND spend_dim_match(c.harness, p_harness) AND spend_dim_match(c.repository, p_repository)
$$;

-- Values offered by the dashboard variables: dimensions seen in the range (day grain, so
-- the first partial day counts), plus every configured team.
CREATE FUNCTION dimension_values(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (dimension text, value text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT 'environment', d.environment FROM spend_by_day d
    WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to GROUP BY d.environment
    UNION ALL
    SELECT 'team', t.team FROM (
        SELECT d.team FROM spend_by_day d WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to
        UNION SELECT team FROM teams
    ) t
    UNION ALL
    SELECT 'user', d.user_id FROM spend_by_day d
    WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to GROUP BY d.user_id
    UNION ALL
    SELECT 'model', d.model FROM spend_by_day d
    WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to GROUP BY d.model
    UNION ALL
    SELECT 'harness', d.harness FROM spend_by_day d
    WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to GROUP BY d.harness
    UNION ALL
    SELECT 'repository', d.repository FROM spend_by_day d
    WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to GROUP BY d.repository
$$;

-- ---------------------------------------------------------------------------------------
-- Organisation, teams, developers
-- ---------------------------------------------------------------------------------------

-- An active developer is a person (not CI, not the 'unknown' identity) with a call in range;
-- cost per active developer divides the developers' own cost (CI excluded) by their number.
CREATE FUNCTION org_totals(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric, calls numeric, error_calls numeric,
    active_developers bigint, cost_per_active_developer_usd numeric, total_tokens numeric,
    input_tokens numeric, output_tokens numeric, cache_read_tokens numeric, cache_write_tokens numeric,
    cache_hit_ratio numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(sum(s.cost_usd), 0), coalesce(sum(s.list_cost_usd), 0), coalesce(sum(s.reported_cost_usd), 0),
           coalesce(sum(s.calls), 0), coalesce(sum(s.error_calls), 0),
           count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0),
           sum(s.cost_usd) FILTER (WHERE s.is_developer)
               / nullif(count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0), 0),
           coalesce(sum(s.total_tokens), 0), coalesce(sum(s.input_tokens), 0), coalesce(sum(s.output_tokens), 0),
           coalesce(sum(s.cache_read_tokens), 0), coalesce(sum(s.cache_write_tokens), 0),
           sum(s.cache_read_tokens) / nullif(sum(s.prompt_tokens), 0)
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
$$;

CREATE FUNCTION team_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    team text, cost_usd numeric, list_cost_usd numeric, calls numeric, active_developers bigint,
    cost_per_active_developer_usd numeric, total_tokens numeric, cache_hit_ratio numeric, cost_share numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.team, sum(s.cost_usd), sum(s.list_cost_usd), sum(s.calls),
           count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0),
           sum(s.cost_usd) FILTER (WHERE s.is_developer)
               / nullif(count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0), 0),
           sum(s.total_tokens), sum(s.cache_read_tokens) / nullif(sum(s.prompt_tokens), 0),
           sum(s.cost_usd) / nullif(sum(sum(s.cost_usd)) OVER (), 0)
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    GROUP BY s.team
$$;

-- One row per identity (user_id, team): the developer tables and the "top spenders" lists.
CREATE FUNCTION developer_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    user_id text, team text, is_developer boolean, cost_usd numeric, list_cost_usd numeric, calls numeric,
    error_calls numeric, total_tokens numeric, output_tokens numeric, cache_hit_ratio numeric,
    long_context_calls numeric, models bigint, top_model text, cost_share numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH per_model AS (
        SELECT s.user_id, s.team, s.model, bool_or(s.is_developer) AS is_developer,
               sum(s.cost_usd) AS cost_usd, sum(s.list_cost_usd) AS list_cost_usd, sum(s.calls) AS calls,
               sum(s.error_calls) AS error_calls, sum(s.total_tokens) AS total_tokens,
               sum(s.output_tokens) AS output_tokens, sum(s.cache_read_tokens) AS cache_read_tokens,
               sum(s.prompt_tokens) AS prompt_tokens, sum(s.long_context_calls) AS long_context_calls
        FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.user_id, s.team, s.model
    )
    SELECT m.user_id, m.team, bool_or(m.is_developer), sum(m.cost_usd), sum(m.list_cost_usd), sum(m.calls),
           sum(m.error_calls), sum(m.total_tokens), sum(m.output_tokens),
           sum(m.cache_read_tokens) / nullif(sum(m.prompt_tokens), 0), sum(m.long_context_calls),
           count(*), (array_agg(m.model ORDER BY m.cost_usd DESC, m.calls DESC, m.model))[1],
           sum(m.cost_usd) / nullif(sum(sum(m.cost_usd)) OVER (), 0)
    FROM per_model m
    GROUP BY m.user_id, m.team
$$;

-- Dashboard cost next to the list-price equivalent: subscription rows cost 0 on the
-- dashboards, and list_cost_usd says what the same tokens would have cost metered.
CREATE FUNCTION spend_by_cost_estimation(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    cost_estimation text, calls numeric, cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric,
    total_tokens numeric, list_cost_share numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.cost_estimation, sum(s.calls), sum(s.cost_usd), sum(s.list_cost_usd), sum(s.reported_cost_usd),
           sum(s.total_tokens), sum(s.list_cost_usd) / nullif(sum(sum(s.list_cost_usd)) OVER (), 0)
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    GROUP BY s.cost_estimation
$$;

CREATE FUNCTION repository_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    repository text, branch text, cost_usd numeric, list_cost_usd numeric, calls numeric, developers bigint,
    ci_cost_usd numeric, interactive_cost_usd numeric, ci_cost_share numeric, total_tokens numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.repository, s.branch, sum(s.cost_usd), sum(s.list_cost_usd), sum(s.calls),
           count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0),
           coalesce(sum(s.cost_usd) FILTER (WHERE s.is_ci), 0),
           coalesce(sum(s.cost_usd) FILTER (WHERE NOT s.is_ci), 0),
           sum(s.cost_usd) FILTER (WHERE s.is_ci) / nullif(sum(s.cost_usd), 0),
           sum(s.total_tokens)
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    GROUP BY s.repository, s.branch
$$;

-- ---------------------------------------------------------------------------------------
-- Models and prompt caching
-- ---------------------------------------------------------------------------------------

-- Per-token prices each model is currently billed at, derived from the per-bucket costs of
-- its latest (at most 2,000) metered, standard-tier calls: bucket cost / bucket tokens.
-- Derived rather than configured so it follows whatever prices the bridge applied (list
-- prices, overrides, emitter-reported splits). NULL where no recent call carries the split.
-- The model list comes from a loose index scan of (model, ts), so this reads a few thousand
-- index entries, not the table.
CREATE VIEW model_token_prices AS
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

-- Cache hit ratio = cache_read / (input + cache_read + cache_write), the share of prompt
-- tokens served from the cache. Dollars saved = cache_read_tokens x (input price - cache
-- read price) from model_token_prices, i.e. what those tokens would have cost uncached at
-- the model's standard-tier input price (subscription rows included, at list price).
CREATE FUNCTION model_cache_efficiency(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    model text, provider text, calls numeric, input_tokens numeric, output_tokens numeric,
    cache_read_tokens numeric, cache_write_tokens numeric, total_tokens numeric, cost_usd numeric,
    list_cost_usd numeric, cost_per_1k_output_usd numeric, list_cost_per_1k_output_usd numeric,
    cache_hit_ratio numeric, cache_saved_usd numeric, long_context_calls numeric,
    input_usd_per_mtok numeric, cache_read_usd_per_mtok numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH per_model AS (
        SELECT s.model, min(s.provider) AS provider, sum(s.calls) AS calls, sum(s.input_tokens) AS input_tokens,
               sum(s.output_tokens) AS output_tokens, sum(s.cache_read_tokens) AS cache_read_tokens,
               sum(s.cache_write_tokens) AS cache_write_tokens, sum(s.total_tokens) AS total_tokens,
               sum(s.prompt_tokens) AS prompt_tokens, sum(s.cost_usd) AS cost_usd,
               sum(s.list_cost_usd) AS list_cost_usd, sum(s.long_context_calls) AS long_context_calls
        FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.model
    )
    SELECT m.model, m.provider, m.calls, m.input_tokens, m.output_tokens, m.cache_read_tokens,
           m.cache_write_tokens, m.total_tokens, m.cost_usd, m.list_cost_usd,
           1000 * m.cost_usd / nullif(m.output_tokens, 0), 1000 * m.list_cost_usd / nullif(m.output_tokens, 0),
           m.cache_read_tokens / nullif(m.prompt_tokens, 0),
           m.cache_read_tokens * (p.usd_per_input_token - p.usd_per_cache_read_token),
           m.long_context_calls, 1e6 * p.usd_per_input_token, 1e6 * p.usd_per_cache_read_token
    FROM per_model m
    LEFT JOIN model_token_prices p ON p.model = m.model
$$;

-- Long-context (premium tier) requests: prompts above 200k tokens, per identity.
CREATE FUNCTION long_context_requests(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    user_id text, team text, calls numeric, long_context_calls numeric, long_context_share numeric,
    cost_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.user_id, s.team, sum(s.calls), sum(s.long_context_calls),
           sum(s.long_context_calls) / nullif(sum(s.calls), 0), sum(s.cost_usd)
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    GROUP BY s.user_id, s.team
$$;

-- Cache writes nobody read: a call that wrote to the prompt cache whose next call in the
-- same session and model either never came, came after p_ttl (the provider's cache
-- lifetime, 5 minutes by default), or read nothing from the cache. Only the next call is
-- considered. Calls up to p_ttl after p_to are looked at, so writes near the end of the
-- range are not called unread too early.
CREATE FUNCTION cache_writes_unread(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}',
    p_ttl interval DEFAULT '5 minutes'
) RETURNS TABLE (
    session_id text, user_id text, team text, model text, harness text, repository text,
    cache_writes bigint, unread_writes bigint, unread_write_tokens numeric, unread_write_cost_usd numeric,
    last_unread_at timestamptz
)
LANGUAGE sql STABLE PARALLEL SAFE
SET work_mem = '64MB'  -- sorts every call of the window: keep it in memory
AS $$
    WITH calls AS (
        SELECT c.session_id, c.user_id, c.team, c.model, c.harness, c.repository, c.ts, c.cache_write_tokens,
               c.cache_write_cost_usd,
               lead(c.ts) OVER w AS next_ts, lead(c.cache_read_tokens) OVER w AS next_cache_read
        FROM calls_filtered(p_from, p_to + p_ttl, p_environment, p_team, p_user, p_model, p_harness,
                            p_repository) c
        WHERE c.session_id IS NOT NULL
        WINDOW w AS (PARTITION BY c.session_id, c.model ORDER BY c.ts)
    ), judged AS (
        SELECT calls.*, cache_write_tokens > 0
                        AND (next_ts IS NULL OR next_ts > ts + p_ttl OR next_cache_read = 0) AS unread
        FROM calls
        WHERE ts <= p_to
    )
    SELECT j.session_id, min(j.user_id), min(j.team), j.model, min(j.harness), min(j.repository),
           count(*) FILTER (WHERE j.cache_write_tokens > 0), count(*) FILTER (WHERE j.unread),
           sum(j.cache_write_tokens) FILTER (WHERE j.unread), sum(j.cache_write_cost_usd) FILTER (WHERE j.unread),
           max(j.ts) FILTER (WHERE j.unread)
    FROM judged j
    GROUP BY j.session_id, j.model
    HAVING count(*) FILTER (WHERE j.unread) > 0
$$;

-- Cache busting: between two consecutive calls of a session (same model) the share of the
-- prompt read from cache falls from at least p_drop to at most (previous - p_drop), on a
-- prompt big enough to be cached. Typical causes: an edited system prompt or tool list, a
-- changed model parameter, a conversation compaction, or a call after the cache expired.
CREATE FUNCTION cache_busting_sessions(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}',
    p_drop numeric DEFAULT 0.5, p_min_prompt_tokens bigint DEFAULT 4096
) RETURNS TABLE (
    session_id text, user_id text, team text, model text, harness text, repository text, calls bigint,
    busts bigint, first_bust_at timestamptz, busted_prompt_tokens numeric, cost_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
SET work_mem = '64MB'  -- sorts every call of the window: keep it in memory
AS $$
    WITH calls AS (
        SELECT c.session_id, c.user_id, c.team, c.model, c.harness, c.repository, c.ts, c.prompt_tokens, c.cost_usd,
               c.cache_read_tokens::numeric / nullif(c.prompt_tokens, 0) AS share,
               lag(c.cache_read_tokens::numeric / nullif(c.prompt_tokens, 0)) OVER w AS previous_share
        FROM calls_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) c
        WHERE c.session_id IS NOT NULL
        WINDOW w AS (PARTITION BY c.session_id, c.model ORDER BY c.ts)
    ), judged AS (
        SELECT calls.*, coalesce(previous_share >= p_drop AND share <= previous_share - p_drop
                                 AND prompt_tokens >= p_min_prompt_tokens, false) AS busted
        FROM calls
    )
    SELECT j.session_id, min(j.user_id), min(j.team), j.model, min(j.harness), min(j.repository), count(*),
           count(*) FILTER (WHERE j.busted), min(j.ts) FILTER (WHERE j.busted),
           sum(j.prompt_tokens) FILTER (WHERE j.busted), sum(j.cost_usd)
    FROM judged j
    GROUP BY j.session_id, j.model
    HAVING count(*) FILTER (WHERE j.busted) > 0
$$;

-- ---------------------------------------------------------------------------------------
-- Sessions and burn rate
-- ---------------------------------------------------------------------------------------

-- Sessions over their whole life, from 0003's session_rollup (kept current by the ingest
-- triggers, and surviving raw-row retention). Turns are model calls; a session's harness,
-- repository, user and team are the values its calls reported.
CREATE VIEW session_log AS
SELECT session_id,
       user_id,
       team,
       harness_name AS harness,
       CASE WHEN workspace_repo = '' THEN '(none)' ELSE workspace_repo END AS repository,
       first_ts AS started_at,
       last_ts AS last_call_at,
       extract(epoch FROM last_ts - first_ts) AS duration_s,
       calls AS turns,
       error_calls,
       unpriced_calls,
       input_tokens,
       output_tokens,
       cache_read_tokens,
       cache_write_tokens,
       input_tokens + output_tokens + cache_read_tokens + cache_write_tokens AS total_tokens,
       cache_read_tokens / nullif(input_tokens + cache_read_tokens + cache_write_tokens, 0) AS cache_hit_ratio,
       cost_usd
FROM session_rollup;

-- Sessions active at some point of [p_from, p_to] (through the last_ts indexes). Sessions
-- span models and environments, so only the team, user, harness and repository filters
-- apply; the environment and model arguments are accepted for a uniform call and ignored.
CREATE FUNCTION session_summary(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS SETOF session_log
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.*
    FROM session_log s
    WHERE s.last_call_at >= p_from AND s.started_at <= p_to
      AND spend_dim_match(s.team, p_team) AND spend_dim_match(s.user_id, p_user)
      AND spend_dim_match(s.harness, p_harness) AND spend_dim_match(s.repository, p_repository)
$$;

-- Sessions with a call in the last p_idle: the "is something running away right now"
-- table, with their cost rate over their whole life.
CREATE FUNCTION active_sessions(
    p_idle interval DEFAULT '15 minutes',
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    session_id text, user_id text, team text, repository text, harness text, started_at timestamptz,
    last_call_at timestamptz, running_for_s numeric, turns bigint, cost_usd numeric, cost_per_hour_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.session_id, s.user_id, s.team, s.repository, s.harness, s.started_at, s.last_call_at,
           s.duration_s, s.turns, s.cost_usd, 3600 * s.cost_usd / greatest(s.duration_s, 60)
    FROM session_summary(now() - p_idle, now(), p_environment, p_team, p_user, p_model, p_harness,
                         p_repository) s
$$;

-- Now-relative figures for the burn-rate stats; independent of the dashboard range.
CREATE FUNCTION burn_rate_now(
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    cost_last_hour_usd numeric, cost_last_24h_usd numeric, calls_last_hour numeric,
    active_sessions bigint, active_developers bigint
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT
        (SELECT coalesce(sum(s.cost_usd), 0) FROM spend_filtered(now() - interval '1 hour', now(), p_environment,
                                                             p_team, p_user, p_model, p_harness, p_repository) s),
        (SELECT coalesce(sum(s.cost_usd), 0) FROM spend_filtered(now() - interval '24 hours', now(), p_environment,
                                                             p_team, p_user, p_model, p_harness, p_repository) s),
        (SELECT coalesce(sum(s.calls), 0) FROM spend_filtered(now() - interval '1 hour', now(), p_environment,
                                                          p_team, p_user, p_model, p_harness, p_repository) s),
        count(DISTINCT c.session_id),
        count(DISTINCT c.user_id) FILTER (WHERE c.is_developer)
    FROM calls_filtered(now() - interval '15 minutes', now(), p_environment, p_team, p_user, p_model, p_harness,
                        p_repository) c
$$;

-- Month to date (UTC calendar month) and the projection used for budgets: the daily
-- average over the days that have data, times the days of the month.
CREATE FUNCTION month_to_date(
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    month_start timestamptz, days_in_month integer, days_with_data bigint, cost_usd numeric,
    list_cost_usd numeric, projected_month_end_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH month AS (
        SELECT date_trunc('month', now(), 'UTC') AS month_start,
               extract(day FROM date_trunc('month', now() AT TIME ZONE 'UTC')
                                + interval '1 month' - interval '1 day')::integer AS days_in_month
    )
    SELECT m.month_start, m.days_in_month, count(DISTINCT d.bucket) FILTER (WHERE d.calls > 0),
           coalesce(sum(d.cost_usd), 0), coalesce(sum(d.list_cost_usd), 0),
           coalesce(sum(d.cost_usd) / nullif(count(DISTINCT d.bucket) FILTER (WHERE d.calls > 0), 0)
                    * m.days_in_month, 0)
    FROM month m
    LEFT JOIN spend_by_day d
           ON d.bucket >= m.month_start
          AND spend_dim_match(d.environment, p_environment) AND spend_dim_match(d.team, p_team)
          AND spend_dim_match(d.user_id, p_user) AND spend_dim_match(d.model, p_model)
          AND spend_dim_match(d.harness, p_harness) AND spend_dim_match(d.repository, p_repository)
    GROUP BY m.month_start, m.days_in_month
$$;

-- Budget per team for the current UTC month: every configured team, plus teams that spent
-- without one. Status: over budget (month to date >= budget), at risk (projection above
-- budget), on track, or no budget.
CREATE VIEW team_budget_status AS
WITH month AS (
    SELECT date_trunc('month', now(), 'UTC') AS month_start,
           extract(day FROM date_trunc('month', now() AT TIME ZONE 'UTC')
                            + interval '1 month' - interval '1 day')::integer AS days_in_month
), spent AS (
    SELECT d.team, sum(d.cost_usd) AS cost_usd, count(DISTINCT d.bucket) FILTER (WHERE d.calls > 0) AS days_with_data
    FROM spend_by_day d, month m
    WHERE d.bucket >= m.month_start
    GROUP BY d.team
), projected AS (
    SELECT coalesce(t.team, s.team) AS team, t.display_name, t.monthly_budget_usd,
           coalesce(s.cost_usd, 0) AS month_to_date_usd, coalesce(s.days_with_data, 0) AS days_with_data,
           m.days_in_month,
           coalesce(s.cost_usd / nullif(s.days_with_data, 0) * m.days_in_month, 0) AS projected_month_end_usd
    FROM teams t
    FULL JOIN spent s ON s.team = t.team
    CROSS JOIN month m
)
SELECT team, display_name, monthly_budget_usd, month_to_date_usd, days_with_data, days_in_month,
       projected_month_end_usd,
       month_to_date_usd / nullif(monthly_budget_usd, 0) AS budget_used_ratio,
       projected_month_end_usd / nullif(monthly_budget_usd, 0) AS projected_budget_ratio,
       CASE
           WHEN coalesce(monthly_budget_usd, 0) = 0 THEN 'no budget'
           WHEN month_to_date_usd >= monthly_budget_usd THEN 'over budget'
           WHEN projected_month_end_usd > monthly_budget_usd THEN 'at risk'
           ELSE 'on track'
       END AS status
FROM projected;

-- ---------------------------------------------------------------------------------------
-- Data quality
-- ---------------------------------------------------------------------------------------

-- Rows per mapping source and harness, with the share that could not be priced or
-- attributed. Raw rows: panels keep the window short.
CREATE FUNCTION rows_by_source(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    source text, signal text, harness text, rows bigint, unpriced_rows bigint,
    unknown_identity_rows bigint, first_seen timestamptz, last_seen timestamptz
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.source, c.signal, c.harness, count(*), count(*) FILTER (WHERE c.is_unpriced),
           count(*) FILTER (WHERE c.user_id = 'unknown' OR c.team = 'unknown'), min(c.ts), max(c.ts)
    FROM calls_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) c
    GROUP BY c.source, c.signal, c.harness
$$;

-- Models of the range without a dashboard cost on some calls, without any list-price
-- equivalent, or reported as 'unknown' (from the rollups; 0002's unpriced_models view lists
-- the unpriced raw rows of all time).
CREATE FUNCTION pricing_gaps(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    model text, provider text, calls numeric, unpriced_calls numeric, total_tokens numeric, cost_usd numeric,
    list_cost_usd numeric, problem text
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT * FROM (
        SELECT s.model, min(s.provider), sum(s.calls), sum(s.unpriced_calls), sum(s.total_tokens), sum(s.cost_usd),
               sum(s.list_cost_usd),
               CASE
                   WHEN s.model = 'unknown' THEN 'model not reported'
                   WHEN sum(s.unpriced_calls) > 0 THEN 'calls without cost'
                   WHEN sum(s.list_cost_usd) = 0 AND sum(s.total_tokens) > 0 THEN 'no list price'
               END AS problem
        FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
        GROUP BY s.model
    ) m
    WHERE m.problem IS NOT NULL
$$;

-- Rows attributed to nobody: the harness sent no user identity, or the user has no team.
CREATE FUNCTION unknown_identity(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    user_id text, team text, harness text, environment text, calls numeric, cost_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.user_id, s.team, s.harness, s.environment, sum(s.calls), sum(s.cost_usd)
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    WHERE s.user_id = 'unknown' OR s.team = 'unknown'
    GROUP BY s.user_id, s.team, s.harness, s.environment
$$;

-- How long after the call started its row was stored (ingest_ts - ts), for rows stored in
-- [p_from, p_to] (through the ingest_ts index). Negative delays are clock skew.
CREATE FUNCTION arrival_delay(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (sort_key integer, delay text, rows bigint, share numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH buckets (sort_key, delay) AS (
        VALUES (0, 'ahead of ingest (clock skew)'), (1, '< 1 min'), (2, '1-5 min'), (3, '5-60 min'),
               (4, '1-24 h'), (5, '> 24 h')
    ), counted AS (
        SELECT CASE
                   WHEN c.ingest_ts < c.ts THEN 0
                   WHEN c.ingest_ts < c.ts + interval '1 minute' THEN 1
                   WHEN c.ingest_ts < c.ts + interval '5 minutes' THEN 2
                   WHEN c.ingest_ts < c.ts + interval '1 hour' THEN 3
                   WHEN c.ingest_ts < c.ts + interval '24 hours' THEN 4
                   ELSE 5
               END AS sort_key,
               count(*) AS rows
        FROM spend_calls c
        WHERE c.ingest_ts >= p_from AND c.ingest_ts <= p_to
          AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
          AND spend_dim_match(c.user_id, p_user) AND spend_dim_match(c.model, p_model)
          AND spend_dim_match(c.harness, p_harness) AND spend_dim_match(c.repository, p_repository)
        GROUP BY 1
    )
    SELECT b.sort_key, b.delay, coalesce(n.rows, 0), n.rows::numeric / nullif(sum(n.rows) OVER (), 0)
    FROM buckets b
    LEFT JOIN counted n ON n.sort_key = b.sort_key
$$;

CREATE FUNCTION arrival_delay_stats(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    rows bigint, p50_s double precision, p95_s double precision, p99_s double precision, max_s double precision,
    late_rows bigint
)
LANGUAGE sql STABLE PARALLEL SAFE
SET work_mem = '64MB'  -- sorts every call of the window: keep it in memory
AS $$
    SELECT d.rows, d.p[1], d.p[2], d.p[3], d.max_s, d.late_rows
    FROM (
        SELECT count(*) AS rows,
               percentile_cont(ARRAY[0.5, 0.95, 0.99])
                   WITHIN GROUP (ORDER BY extract(epoch FROM c.ingest_ts - c.ts)::float8) AS p,
               max(extract(epoch FROM c.ingest_ts - c.ts))::double precision AS max_s,
               count(*) FILTER (WHERE c.ingest_ts - c.ts > interval '5 minutes') AS late_rows
        FROM spend_calls c
        WHERE c.ingest_ts >= p_from AND c.ingest_ts <= p_to
          AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
          AND spend_dim_match(c.user_id, p_user) AND spend_dim_match(c.model, p_model)
          AND spend_dim_match(c.harness, p_harness) AND spend_dim_match(c.repository, p_repository)
    ) d
$$;

-- Calls that claim to start after they were stored (by more than p_tolerance): the
-- emitter's clock runs ahead. Grouped by where the rows come from, to find the machine.
CREATE FUNCTION clock_skew(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}',
    p_tolerance interval DEFAULT '5 seconds'
) RETURNS TABLE (
    source text, harness text, user_id text, machine_id text, rows bigint, max_skew_s numeric,
    avg_skew_s numeric, last_seen timestamptz
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.source, c.harness, c.user_id, c.machine_id, count(*), max(extract(epoch FROM c.ts - c.ingest_ts)),
           avg(extract(epoch FROM c.ts - c.ingest_ts)), max(c.ingest_ts)
    FROM spend_calls c
    WHERE c.ingest_ts >= p_from AND c.ingest_ts <= p_to AND c.ts > c.ingest_ts + p_tolerance
      AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
      AND spend_dim_match(c.user_id, p_user) AND spend_dim_match(c.model, p_model)
      AND spend_dim_match(c.harness, p_harness) AND spend_dim_match(c.repository, p_repository)
    GROUP BY c.source, c.harness, c.user_id, c.machine_id
$$;

CREATE FUNCTION rejections_by_reason(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (reason text, signal text, rejected numeric, last_seen timestamptz, example jsonb)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT r.reason, r.signal, sum(r.rejected), max(r.bucket),
           (array_agg(r.example ORDER BY r.bucket DESC) FILTER (WHERE r.example IS NOT NULL))[1]
    FROM ingest_rejection_log r
    WHERE r.bucket >= date_trunc('minute', p_from) AND r.bucket <= p_to
    GROUP BY r.reason, r.signal
$$;

-- ---------------------------------------------------------------------------------------
-- Grants: Grafana's login is a member of agent_spend_reader, which may read these views and
-- the rollups (0003) but not agent_spend_logs: spend_calls exposes it with the view owner's
-- rights, so the functions above work for the reader without a grant on the raw table.
-- ---------------------------------------------------------------------------------------

GRANT SELECT ON spend_calls, spend_by_hour, spend_by_day, ingest_summary, ingest_rejection_log,
    model_token_prices, team_budget_status, session_log, unpriced_models, teams, users TO agent_spend_reader;
GRANT USAGE ON TYPE spend_row TO agent_spend_reader;
-- spend_exact_from() consults 0003's retention horizon with the caller's rights.
GRANT SELECT ON retention_state TO agent_spend_reader;
GRANT EXECUTE ON FUNCTION
    spend_dim_match(text, text[]), spend_hour_ceil(timestamptz), spend_day_ceil(timestamptz),
    spend_exact_from(timestamptz), spend_retention_horizon(), spend_range_bounds(timestamptz, timestamptz),
    spend_between(timestamptz, timestamptz),
    spend_filtered(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    calls_filtered(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    dimension_values(timestamptz, timestamptz),
    org_totals(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    team_summary(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    developer_summary(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    spend_by_cost_estimation(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    repository_summary(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    model_cache_efficiency(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    long_context_requests(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    cache_writes_unread(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[], interval),
    cache_busting_sessions(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[], numeric,
                           bigint),
    session_summary(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    active_sessions(interval, text[], text[], text[], text[], text[], text[]),
    burn_rate_now(text[], text[], text[], text[], text[], text[]),
    month_to_date(text[], text[], text[], text[], text[], text[]),
    rows_by_source(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    pricing_gaps(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    unknown_identity(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    arrival_delay(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    arrival_delay_stats(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[]),
    clock_skew(timestamptz, timestamptz, text[], text[], text[], text[], text[], text[], interval),
    rejections_by_reason(timestamptz, timestamptz)
TO agent_spend_reader;
