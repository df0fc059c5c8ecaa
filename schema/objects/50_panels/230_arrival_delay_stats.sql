-- Arrival-delay percentiles over float8 epochs (date_part) instead of NUMERIC ones
-- (extract) cast to float8: the same seconds to the microsecond, a quarter faster over a
-- day of raw calls.
CREATE OR REPLACE FUNCTION arrival_delay_stats(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    rows bigint, p50_s double precision, p95_s double precision, p99_s double precision, max_s double precision,
    late_rows bigint
)
LANGUAGE sql STABLE PARALLEL SAFE
SET work_mem = '64MB'  -- sorts every call of the window: keep it in memory
AS $$
    SELECT d.rows, d.p[1], d.p[2], d.p[3], d.max_s, d.late_rows
    FROM (
        SELECT count(*) AS rows,
               percentile_cont(ARRAY[0.5, 0.95, 0.99])
                   WITHIN GROUP (ORDER BY date_part('epoch', c.ingest_ts - c.ts)) AS p,
               max(date_part('epoch', c.ingest_ts - c.ts)) AS max_s,
               count(*) FILTER (WHERE c.ingest_ts - c.ts > interval '5 minutes') AS late_rows
        FROM spend_calls c
        WHERE c.ingest_ts >= p_from AND c.ingest_ts <= p_to
          AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
          AND spend_dim_match(c.user_id, p_user) AND spend_dim_match(c.model, p_model)
          AND spend_dim_match(c.harness, p_harness) AND spend_dim_match(c.repository, p_repository)
    ) d
$$;
