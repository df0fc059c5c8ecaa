-- The rows repository_summary aggregates, with only the measures it shows (carrying all
-- fourteen through the UNION spills at the default work_mem). Same five disjoint branches and boundaries as spend_between; the whole days
-- are summed per key inside their branch (90 daily rows per key become one).
CREATE OR REPLACE FUNCTION repository_rows(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (repository text, branch text, user_id text, team text, environment text, is_ci boolean,
               calls numeric, cost_usd numeric, list_cost_usd numeric, total_tokens numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.repository, c.branch, c.user_id, c.team, c.environment, c.is_ci, 1::numeric, c.cost_usd::numeric,
           coalesce(c.list_cost_usd, 0)::numeric, c.total_tokens::numeric
    FROM spend_edge_calls(p_from, p_to) c  -- both partial hours: [lo, hs) and [he, p_to]
    UNION ALL
    SELECT h.repository, h.branch, h.user_id, h.team, h.environment, h.is_ci, h.calls, h.cost_usd,
           h.list_cost_usd, h.total_tokens
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.hs FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.hourly_end FROM spend_range_bounds(p_from, p_to) b)
    UNION ALL
    SELECT CASE WHEN d.workspace_repo = '' THEN '(none)' ELSE d.workspace_repo END,
           CASE WHEN d.workspace_branch = '' THEN '(none)' ELSE d.workspace_branch END,
           d.user_id, d.team, d.environment, d.workspace_is_ci, sum(d.calls), sum(d.cost_usd),
           sum(d.list_cost_usd), sum(d.input_tokens + d.cache_read_tokens + d.cache_write_tokens + d.output_tokens)
    FROM spend_daily_repo d
    WHERE d.bucket >= (SELECT b.ds FROM spend_range_bounds(p_from, p_to) b)
      AND d.bucket < (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
    GROUP BY d.workspace_repo, d.workspace_branch, d.user_id, d.team, d.environment, d.workspace_is_ci
    UNION ALL
    SELECT h.repository, h.branch, h.user_id, h.team, h.environment, h.is_ci, h.calls, h.cost_usd,
           h.list_cost_usd, h.total_tokens
    FROM spend_by_hour h
    WHERE h.bucket >= (SELECT b.de FROM spend_range_bounds(p_from, p_to) b)
      AND h.bucket < (SELECT b.he FROM spend_range_bounds(p_from, p_to) b)
$$;
