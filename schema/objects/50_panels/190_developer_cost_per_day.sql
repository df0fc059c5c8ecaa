-- Developers' own daily cost over that day's active developers (a developer is active on
-- a day with a call): one row per day with data, buckets in [p_from, p_to] like
-- $__timeFilter(bucket). Grouping per (day, user) first replaces a count(DISTINCT).
CREATE OR REPLACE FUNCTION developer_cost_per_day(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (bucket timestamptz, active_developers bigint, developer_cost_usd numeric,
                 cost_per_developer_usd numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT u.bucket, count(*) FILTER (WHERE u.active), sum(u.cost_usd),
           sum(u.cost_usd) / nullif(count(*) FILTER (WHERE u.active), 0)
    FROM (
        SELECT d.bucket, d.user_id, bool_or(d.calls > 0) AS active, sum(d.cost_usd) AS cost_usd
        FROM spend_user_days(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) d
        WHERE d.is_developer
        GROUP BY d.bucket, d.user_id
    ) u
    GROUP BY u.bucket
$$;
