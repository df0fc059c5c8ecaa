-- How long after the call started its row was stored (ingest_ts - ts), for rows stored in
-- [p_from, p_to] (through the ingest_ts index). Negative delays are clock skew.
CREATE OR REPLACE FUNCTION arrival_delay(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (sort_key integer, delay text, rows bigint, share numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH buckets (sort_key, delay) AS (
        VALUES (0, 'ahead of ingest (clock skew)'), (1, '< 1 min'), (2, '1-5 min'), (3, '5-60 min'),
               (4, '1-24 h'), (5, '> 24 h')
    ), counted AS (
        SELECT CASE
                   WHEN c.ingest_ts < c.ts THEN 0
                   WHEN c.ingest_ts < c.ts + interval '1 minute' THEN 1
                   WHEN c.ingest_ts < c.ts + interval '5 minutes' THEN 2
                   WHEN c.ingest_ts < c.ts + interval '1 hour' THEN 3
                   WHEN c.ingest_ts < c.ts + interval '24 hours' THEN 4
                   ELSE 5
               END AS sort_key,
               count(*) AS rows
        FROM spend_calls c
        WHERE c.ingest_ts >= p_from AND c.ingest_ts <= p_to
          AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
          AND spend_dim_match(c.user_id, p_user) AND spend_dim_match(c.model, p_model)
          AND spend_dim_match(c.harness, p_harness) AND spend_dim_match(c.repository, p_repository)
        GROUP BY 1
    )
    SELECT b.sort_key, b.delay, coalesce(n.rows, 0), n.rows::numeric / nullif(sum(n.rows) OVER (), 0)
    FROM buckets b
    LEFT JOIN counted n ON n.sort_key = b.sort_key
$$;
