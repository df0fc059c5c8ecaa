-- Test oracle, not schema: cache_writes_unread as schema/0004_views.sql first defined it, over
-- spend_filtered only (the raw and fine-rollup path). The live cache_writes_unread in schema/objects
-- must return exactly what this returns. Loaded by tests/support/rollups.py reference_function().
CREATE OR REPLACE FUNCTION pg_temp.ref_cache_writes_unread(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}',
    p_ttl interval DEFAULT '5 minutes'
) RETURNS TABLE (
    session_id text, user_id text, team text, model text, harness text, repository text,
    cache_writes bigint, unread_writes bigint, unread_write_tokens numeric, unread_write_cost_usd numeric,
    last_unread_at timestamptz
)
LANGUAGE sql STABLE PARALLEL SAFE
SET work_mem = '64MB'  -- sorts every call of the window: keep it in memory
AS $$
    WITH calls AS (
        SELECT c.session_id, c.user_id, c.team, c.model, c.harness, c.repository, c.ts, c.cache_write_tokens,
               c.cache_write_cost_usd,
               lead(c.ts) OVER w AS next_ts, lead(c.cache_read_tokens) OVER w AS next_cache_read
        FROM calls_filtered(p_from, p_to + p_ttl, p_environment, p_team, p_user, p_model, p_harness,
                            p_repository) c
        WHERE c.session_id IS NOT NULL
        WINDOW w AS (PARTITION BY c.session_id, c.model ORDER BY c.ts)
    ), judged AS (
        SELECT calls.*, cache_write_tokens > 0
                        AND (next_ts IS NULL OR next_ts > ts + p_ttl OR next_cache_read = 0) AS unread
        FROM calls
        WHERE ts <= p_to
    )
    SELECT j.session_id, min(j.user_id), min(j.team), j.model, min(j.harness), min(j.repository),
           count(*) FILTER (WHERE j.cache_write_tokens > 0), count(*) FILTER (WHERE j.unread),
           sum(j.cache_write_tokens) FILTER (WHERE j.unread), sum(j.cache_write_cost_usd) FILTER (WHERE j.unread),
           max(j.ts) FILTER (WHERE j.unread)
    FROM judged j
    GROUP BY j.session_id, j.model
    HAVING count(*) FILTER (WHERE j.unread) > 0
$$;
