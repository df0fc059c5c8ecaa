-- Budget per team for the UTC month of p_now: every configured team, plus teams that spent
-- without one. Status: over budget (month to date >= budget), at risk (projection above
-- budget), on track, or no budget.
CREATE OR REPLACE FUNCTION team_budget_status_at(p_now timestamptz DEFAULT now())
RETURNS TABLE (
    team text, display_name text, monthly_budget_usd numeric, month_to_date_usd numeric, days_with_data bigint,
    days_in_month integer, projected_month_end_usd numeric, budget_used_ratio numeric,
    projected_budget_ratio numeric, status text
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH month AS (
        SELECT date_trunc('month', p_now, 'UTC') AS month_start,
               extract(day FROM date_trunc('month', p_now AT TIME ZONE 'UTC')
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
    FROM projected
$$;

-- The current month, for the dashboards (monthly_budget_usd keeps the column type of teams).
CREATE OR REPLACE VIEW team_budget_status AS
SELECT b.team, b.display_name, b.monthly_budget_usd::numeric(14, 2) AS monthly_budget_usd, b.month_to_date_usd,
       b.days_with_data, b.days_in_month, b.projected_month_end_usd, b.budget_used_ratio,
       b.projected_budget_ratio, b.status
FROM team_budget_status_at(now()) b;
