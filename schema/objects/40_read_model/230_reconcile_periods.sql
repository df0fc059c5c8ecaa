-- Which days of [p_first, p_last] each provider's bill covers (docs/reconcile.md): from the
-- first day any of its reports has a line to the later of the last such day and the latest
-- `complete_through` of its billing_sync rows (a pulled day with no line is a day nothing
-- was billed). Telemetry outside a provider's period is not compared with anything, and a
-- provider with no billing at all (e.g. one no report is pulled for) is not reconciled.
-- Every min/max is one probe of billing_lines' primary key per (provider, report).
CREATE OR REPLACE FUNCTION reconcile_periods(p_first date, p_last date)
RETURNS TABLE (provider text, billed_from date, billed_through date)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.provider, greatest(min(f.first_day), p_first),
           least(greatest(max(f.last_day), max(s.complete_through)), p_last)
    FROM (
        SELECT b.provider FROM billing_sync b
        UNION
        SELECT DISTINCT l.provider FROM billing_lines l WHERE l.day BETWEEN p_first AND p_last
    ) c
    CROSS JOIN (VALUES ('usage'), ('cost'), ('claude_code'), ('csv_usage'), ('csv_cost')) r (report)
    CROSS JOIN LATERAL (
        SELECT (SELECT min(l.day) FROM billing_lines l WHERE l.provider = c.provider AND l.report = r.report)
                   AS first_day,
               (SELECT max(l.day) FROM billing_lines l WHERE l.provider = c.provider AND l.report = r.report)
                   AS last_day
    ) f
    LEFT JOIN billing_sync s ON s.provider = c.provider AND s.report = r.report
    GROUP BY c.provider
    HAVING min(f.first_day) IS NOT NULL
       AND greatest(min(f.first_day), p_first)
           <= least(greatest(max(f.last_day), max(s.complete_through)), p_last)
$$;
