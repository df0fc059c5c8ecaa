-- The raw calls of the two partial hours at the ends of a range, which the rollups cannot
-- answer: [lo, hs) at the start (lo = spend_exact_from(p_from), hs its next whole hour) and
-- [he, p_to] at the end (he = p_to's hour), as spend_range_bounds() draws them.
--
-- Why plpgsql and literal bounds: agent_spend_logs has a partition per day, and a bound
-- PostgreSQL only learns at execution (spend_range_bounds() reads the retention horizon)
-- makes the planner plan every day partition with its indexes before pruning them at run
-- time: 155 ms of planning for team_summary over 95 partitions, growing with the days kept.
-- Computing the bounds first and running the read with them as literals lets the planner
-- prune at plan time: only the one or two partitions that hold the edges are planned.
-- spend_between, spend_between_coarse, spend_between_user and repository_rows read their
-- edges here.
CREATE OR REPLACE FUNCTION spend_edge_calls(p_from timestamptz, p_to timestamptz) RETURNS SETOF spend_calls
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    b record;
BEGIN
    SELECT r.lo, r.hs, r.he INTO b FROM spend_range_bounds(p_from, p_to) r;
    RETURN QUERY EXECUTE format(
        'SELECT * FROM spend_calls c WHERE c.ts >= %1$L AND c.ts < %2$L AND c.ts <= %4$L'
        ' UNION ALL '
        'SELECT * FROM spend_calls c WHERE c.ts >= %3$L AND c.ts <= %4$L',
        b.lo, b.hs, b.he, p_to);
END
$$;
