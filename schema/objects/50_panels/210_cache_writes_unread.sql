-- The cache sequence panels, with a narrow sort: the window needs session, model, time
-- and a few numbers; identity columns are compared as bytes ("C"), which sorts on
-- abbreviated keys. The result rows equal those of a plain sort (min() of identity columns is the
-- same under byte order for UTF-8 C/C.UTF-8 databases; other collations may pick another
-- of a session's several users or teams, which is the rare case anyway).
CREATE OR REPLACE FUNCTION cache_writes_unread(
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
        SELECT c.session_id COLLATE "C" AS session_id, c.model COLLATE "C" AS model, c.ts,
               c.user_id COLLATE "C" AS user_id, c.team COLLATE "C" AS team, c.harness COLLATE "C" AS harness,
               c.repository COLLATE "C" AS repository, c.cache_write_tokens, c.cache_write_cost_usd,
               c.cache_read_tokens
        FROM calls_filtered(p_from, p_to + p_ttl, p_environment, p_team, p_user, p_model, p_harness,
                            p_repository) c
        WHERE c.session_id IS NOT NULL
    ), judged AS (
        SELECT calls.*, cache_write_tokens > 0
                        AND (lead(ts) OVER w IS NULL OR lead(ts) OVER w > ts + p_ttl
                             OR lead(cache_read_tokens) OVER w = 0) AS unread
        FROM calls
        WINDOW w AS (PARTITION BY session_id, model ORDER BY ts)
    )
    SELECT j.session_id, min(j.user_id), min(j.team), j.model, min(j.harness), min(j.repository),
           count(*) FILTER (WHERE j.cache_write_tokens > 0), count(*) FILTER (WHERE j.unread),
           sum(j.cache_write_tokens) FILTER (WHERE j.unread), sum(j.cache_write_cost_usd) FILTER (WHERE j.unread),
           max(j.ts) FILTER (WHERE j.unread)
    FROM judged j
    WHERE j.ts <= p_to
    GROUP BY j.session_id, j.model
    HAVING count(*) FILTER (WHERE j.unread) > 0
$$;
