-- Spend per scope value of a budget scope kind over the half-open range [p_from, p_to):
-- 'org' one row with scope '', 'team' per team, 'user' per user_id, 'repository' per
-- repository ('(none)' for calls without one). Exact to the microsecond through the
-- spend_between* family (whole days from the daily rollup that serves the kind --
-- spend_daily_coarse for the org and teams, spend_daily_user for users, spend_daily_repo for
-- repositories -- whole hours from spend_hourly, raw calls at the edges), whose upper bound is
-- inclusive, hence p_to minus a microsecond.
CREATE OR REPLACE FUNCTION budget_spent(p_scope_kind text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (scope text, spent_usd numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    IF p_to <= p_from THEN
        RETURN;
    END IF;
    CASE p_scope_kind
    WHEN 'org' THEN
        RETURN QUERY
            SELECT ''::text, coalesce(sum(c.cost_usd), 0)
            FROM spend_between_coarse(p_from, p_to - interval '1 microsecond') c;
    WHEN 'team' THEN
        RETURN QUERY
            SELECT c.team, sum(c.cost_usd)
            FROM spend_between_coarse(p_from, p_to - interval '1 microsecond') c
            GROUP BY c.team;
    WHEN 'user' THEN
        RETURN QUERY
            SELECT u.user_id, sum(u.cost_usd)
            FROM spend_between_user(p_from, p_to - interval '1 microsecond') u
            GROUP BY u.user_id;
    WHEN 'repository' THEN
        RETURN QUERY
            SELECT r.repository, sum(r.cost_usd)
            FROM repository_rows(p_from, p_to - interval '1 microsecond') r
            GROUP BY r.repository;
    ELSE
        RAISE EXCEPTION 'unknown budget scope kind %', p_scope_kind;
    END CASE;
END
$$;
