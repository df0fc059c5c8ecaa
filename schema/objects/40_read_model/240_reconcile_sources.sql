-- Which report each provider-day's billed tokens and billed dollars come from, so that no
-- figure is counted twice when several reports cover the same day (docs/reconcile.md):
--   tokens:  'usage', else 'csv_usage', else 'claude_code' (Claude Code analytics);
--   dollars: 'cost', else 'csv_cost', else 'claude_code' (its estimated cost).
-- A report covers a provider-day when it has a line for that day (dollar reports: a line
-- with a cost); the chosen report is then the whole truth of that day, so a model it does
-- not list was billed nothing, even if a lower report lists it.
CREATE OR REPLACE FUNCTION reconcile_sources(p_first date, p_last date)
RETURNS TABLE (provider text, day date, tokens_report text, usd_report text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT l.provider, l.day,
           (ARRAY['usage', 'csv_usage', 'claude_code'])[
               min(array_position(ARRAY['usage', 'csv_usage', 'claude_code'], l.report))],
           (ARRAY['cost', 'csv_cost', 'claude_code'])[
               min(array_position(ARRAY['cost', 'csv_cost', 'claude_code'], l.report))
                   FILTER (WHERE l.cost_usd IS NOT NULL)]
    FROM billing_lines l
    WHERE l.day BETWEEN p_first AND p_last
    GROUP BY l.provider, l.day
$$;
