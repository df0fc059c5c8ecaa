-- Every period of every budget that overlaps [p_from, p_to), judged as of
-- least(period_end, p_to): spent over [period_start, as_of), against the version of the
-- budget in effect at the last microsecond before as_of (valid_from <= it < valid_to), so a
-- past period keeps the amount that applied then. A version yields the periods of its own
-- kind; a period is kept only if that version is the one in effect at its judging instant.
-- p_from and p_to must be finite. docs/budgets.md.
--   percent          spent / amount * 100
--   projected_usd    spent / elapsed fraction of the period, the fraction counted as at least
--                    1/24 (a day's first hour, a week's first 7 hours, a month's first ~30 hours
--                    project at most 24 x spent); a period judged at its end projects its spent
--   threshold_reached  the highest threshold with percent >= it, NULL if none
--   projected_over   warn_projected and projected_usd > amount_usd
--   status           'exceeded' (percent >= 100), 'warning' (a threshold reached),
--                    'projected_over', 'ok'
CREATE OR REPLACE FUNCTION budget_periods(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (
    budget_id bigint, name text, scope_kind text, scope text, period text,
    period_start timestamptz, period_end timestamptz, amount_usd numeric, spent_usd numeric,
    percent numeric, projected_usd numeric, thresholds numeric[], threshold_reached numeric,
    projected_over boolean, status text
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH judged AS (
        SELECT v.budget_id, v.name, v.scope_kind, v.scope, v.period, p.period_start, p.period_end,
               v.amount_usd, v.thresholds, v.warn_projected, least(p.period_end, p_to) AS as_of
        FROM budgets v
        CROSS JOIN LATERAL budget_period_series(
            v.period, greatest(p_from, v.valid_from), least(p_to, coalesce(v.valid_to, 'infinity'))
        ) p
        WHERE v.valid_from <= least(p.period_end, p_to) - interval '1 microsecond'
          AND coalesce(v.valid_to, 'infinity') > least(p.period_end, p_to) - interval '1 microsecond'
    ), ranges AS (
        SELECT DISTINCT j.scope_kind, j.period_start, j.as_of FROM judged j
    ), spent AS (
        SELECT r.scope_kind, r.period_start, r.as_of, s.scope, s.spent_usd
        FROM ranges r
        CROSS JOIN LATERAL budget_spent(r.scope_kind, r.period_start, r.as_of) s
    ), measured AS (
        SELECT j.*, coalesce(s.spent_usd, 0) AS spent_usd,
               extract(epoch FROM j.as_of - j.period_start) AS elapsed_s,
               extract(epoch FROM j.period_end - j.period_start) AS length_s
        FROM judged j
        LEFT JOIN spent s
               ON s.scope_kind = j.scope_kind AND s.period_start = j.period_start AND s.as_of = j.as_of
              AND s.scope = j.scope
    ), rated AS (
        SELECT m.*, m.spent_usd * 100 / m.amount_usd AS percent,
               CASE WHEN m.elapsed_s * 24 <= m.length_s THEN m.spent_usd * 24
                    ELSE m.spent_usd * m.length_s / m.elapsed_s END AS projected_usd
        FROM measured m
    ), flagged AS (
        SELECT r.*,
               (SELECT max(t) FROM unnest(r.thresholds) t WHERE r.percent >= t) AS threshold_reached,
               (r.warn_projected AND r.projected_usd > r.amount_usd) AS projected_over
        FROM rated r
    )
    SELECT f.budget_id, f.name, f.scope_kind, f.scope, f.period, f.period_start, f.period_end,
           f.amount_usd::numeric, f.spent_usd, f.percent, f.projected_usd, f.thresholds,
           f.threshold_reached, f.projected_over,
           CASE
               WHEN f.percent >= 100 THEN 'exceeded'
               WHEN f.threshold_reached IS NOT NULL THEN 'warning'
               WHEN f.projected_over THEN 'projected_over'
               ELSE 'ok'
           END
    FROM flagged f
    ORDER BY f.name, f.period_start
$$;
