-- Until p_now (the clock by default) was a parameter it had no trailing timestamptz.
DROP FUNCTION IF EXISTS month_to_date(text[], text[], text[], text[], text[], text[]);

-- Month to date (UTC calendar month) and the projection used for budgets: the daily
-- average over the days that have data, times the days of the month.
CREATE OR REPLACE FUNCTION month_to_date(
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}',
    p_now timestamptz DEFAULT now()
) RETURNS TABLE (
    month_start timestamptz, days_in_month integer, days_with_data bigint, cost_usd numeric,
    list_cost_usd numeric, projected_month_end_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH month AS (
        SELECT date_trunc('month', p_now, 'UTC') AS month_start,
               extract(day FROM date_trunc('month', p_now AT TIME ZONE 'UTC')
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
