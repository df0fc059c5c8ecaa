-- Test oracle, not schema: long_context_requests as schema/0004_views.sql first defined it, over
-- spend_filtered only (the raw and fine-rollup path). The live long_context_requests in schema/objects
-- must return exactly what this returns. Loaded by tests/support/rollups.py reference_function().
CREATE OR REPLACE FUNCTION pg_temp.ref_long_context_requests(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    user_id text, team text, calls numeric, long_context_calls numeric, long_context_share numeric,
    cost_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.user_id, s.team, sum(s.calls), sum(s.long_context_calls),
           sum(s.long_context_calls) / nullif(sum(s.calls), 0), sum(s.cost_usd)
    FROM spend_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) s
    GROUP BY s.user_id, s.team
$$;
