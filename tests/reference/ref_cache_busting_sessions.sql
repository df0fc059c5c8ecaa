-- Test oracle, not schema: cache_busting_sessions as schema/0004_views.sql first defined it, over
-- spend_filtered only (the raw and fine-rollup path). The live cache_busting_sessions in schema/objects
-- must return exactly what this returns. Loaded by tests/support/rollups.py reference_function().
CREATE OR REPLACE FUNCTION pg_temp.ref_cache_busting_sessions(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}',
    p_drop numeric DEFAULT 0.5, p_min_prompt_tokens bigint DEFAULT 4096
) RETURNS TABLE (
    session_id text, user_id text, team text, model text, harness text, repository text, calls bigint,
    busts bigint, first_bust_at timestamptz, busted_prompt_tokens numeric, cost_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
SET work_mem = '64MB'  -- sorts every call of the window: keep it in memory
AS $$
    WITH calls AS (
        SELECT c.session_id, c.user_id, c.team, c.model, c.harness, c.repository, c.ts, c.prompt_tokens, c.cost_usd,
               c.cache_read_tokens::numeric / nullif(c.prompt_tokens, 0) AS share,
               lag(c.cache_read_tokens::numeric / nullif(c.prompt_tokens, 0)) OVER w AS previous_share
        FROM calls_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) c
        WHERE c.session_id IS NOT NULL
        WINDOW w AS (PARTITION BY c.session_id, c.model ORDER BY c.ts)
    ), judged AS (
        SELECT calls.*, coalesce(previous_share >= p_drop AND share <= previous_share - p_drop
                                 AND prompt_tokens >= p_min_prompt_tokens, false) AS busted
        FROM calls
    )
    SELECT j.session_id, min(j.user_id), min(j.team), j.model, min(j.harness), min(j.repository), count(*),
           count(*) FILTER (WHERE j.busted), min(j.ts) FILTER (WHERE j.busted),
           sum(j.prompt_tokens) FILTER (WHERE j.busted), sum(j.cost_usd)
    FROM judged j
    GROUP BY j.session_id, j.model
    HAVING count(*) FILTER (WHERE j.busted) > 0
$$;
