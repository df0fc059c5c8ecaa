-- The figures of `agent-spend report chargeback` (docs/reports.md): per cost centre (p_by:
-- 'team' or 'repo'; a call without a repository is '(none)') over the UTC days
-- p_first .. p_last, the dashboards' cost, the list-price value, what the emitters reported,
-- the list-price value of seat-plan ('subscription') calls, and the billed dollars allocated.
-- Telemetry comes from the daily rollups only (spend_by_day_coarse per team,
-- spend_by_day per repository); billed dollars from reconcile_billed (per provider, UTC day
-- and model, the report reconcile_sources chose).
-- Allocation: a provider-day-model's billed dollars are split between the cost centres in
-- proportion to their list-price value of that provider, day and model's metered and
-- unreported calls (seat-plan calls are never on an API bill). Billed dollars of a
-- provider-day-model telemetry saw nothing of (or nothing with a list price) go to the
-- cost centre '(unattributed)'. billed_usd is NULL on every row when nothing in the range
-- carries billed dollars, 0 for a cost centre none of whose calls was billed.
CREATE OR REPLACE FUNCTION report_chargeback(p_first date, p_last date, p_by text)
RETURNS TABLE (
    cost_centre text, calls numeric, cost_usd numeric, list_cost_usd numeric, reported_cost_usd numeric,
    seat_list_cost_usd numeric, billed_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH t AS (
        SELECT c.team AS centre, c.provider, (c.bucket AT TIME ZONE 'UTC')::date AS day, c.model,
               c.cost_estimation = 'subscription' AS seat, c.calls, c.cost_usd, c.list_cost_usd,
               c.reported_cost_usd
        FROM spend_by_day_coarse c
        WHERE p_by = 'team'
          AND c.bucket >= p_first::timestamp AT TIME ZONE 'UTC'
          AND c.bucket < (p_last + 1)::timestamp AT TIME ZONE 'UTC'
        UNION ALL
        SELECT f.repository, f.provider, (f.bucket AT TIME ZONE 'UTC')::date, f.model,
               f.cost_estimation = 'subscription', f.calls, f.cost_usd, f.list_cost_usd, f.reported_cost_usd
        FROM spend_by_day f
        WHERE p_by = 'repo'
          AND f.bucket >= p_first::timestamp AT TIME ZONE 'UTC'
          AND f.bucket < (p_last + 1)::timestamp AT TIME ZONE 'UTC'
    ),
    weights AS (
        SELECT t.centre, t.provider, t.day, t.model, sum(t.list_cost_usd) AS weight
        FROM t
        WHERE NOT t.seat
        GROUP BY t.centre, t.provider, t.day, t.model
        HAVING sum(t.list_cost_usd) > 0
    ),
    billed AS (
        SELECT b.provider, b.day, b.model, b.cost_usd
        FROM reconcile_billed(p_first, p_last) b
        WHERE b.cost_usd IS NOT NULL
    ),
    shares AS (
        SELECT coalesce(w.centre, '(unattributed)') AS centre,
               coalesce(b.cost_usd * w.weight / sum(w.weight) OVER (PARTITION BY b.provider, b.day, b.model),
                        b.cost_usd) AS billed_usd
        FROM billed b
        LEFT JOIN weights w ON w.provider = b.provider AND w.day = b.day AND w.model = b.model
    ),
    x AS (
        SELECT t.centre, t.calls, t.cost_usd, t.list_cost_usd, t.reported_cost_usd,
               CASE WHEN t.seat THEN t.list_cost_usd ELSE 0 END AS seat_list_cost_usd, 0::numeric AS billed_usd
        FROM t
        UNION ALL
        SELECT s.centre, 0, 0, 0, 0, 0, s.billed_usd
        FROM shares s
    )
    SELECT x.centre, sum(x.calls), sum(x.cost_usd), sum(x.list_cost_usd), sum(x.reported_cost_usd),
           sum(x.seat_list_cost_usd), CASE WHEN EXISTS (SELECT FROM billed) THEN sum(x.billed_usd) END
    FROM x
    GROUP BY x.centre
$$;
