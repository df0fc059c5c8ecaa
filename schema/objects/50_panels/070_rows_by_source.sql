-- Rows per mapping source and harness, with the share that could not be priced or
-- attributed. Raw rows: panels keep the window short.
CREATE OR REPLACE FUNCTION rows_by_source(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}'
) RETURNS TABLE (
    source text, signal text, harness text, rows bigint, unpriced_rows bigint,
    unknown_identity_rows bigint, first_seen timestamptz, last_seen timestamptz
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.source, c.signal, c.harness, count(*), count(*) FILTER (WHERE c.is_unpriced),
           count(*) FILTER (WHERE c.user_id = 'unknown' OR c.team = 'unknown'), min(c.ts), max(c.ts)
    FROM calls_filtered(p_from, p_to, p_environment, p_team, p_user, p_model, p_harness, p_repository) c
    GROUP BY c.source, c.signal, c.harness
$$;
