-- Calls that claim to start after they were stored (by more than p_tolerance): the
-- emitter's clock runs ahead. Grouped by where the rows come from, to find the machine.
CREATE OR REPLACE FUNCTION clock_skew(
    p_from timestamptz, p_to timestamptz,
    p_environment text[] DEFAULT '{__all}', p_team text[] DEFAULT '{__all}', p_user text[] DEFAULT '{__all}',
    p_model text[] DEFAULT '{__all}', p_harness text[] DEFAULT '{__all}', p_repository text[] DEFAULT '{__all}',
    p_tolerance interval DEFAULT '5 seconds'
) RETURNS TABLE (
    source text, harness text, user_id text, machine_id text, rows bigint, max_skew_s numeric,
    avg_skew_s numeric, last_seen timestamptz
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT c.source, c.harness, c.user_id, c.machine_id, count(*), max(extract(epoch FROM c.ts - c.ingest_ts)),
           avg(extract(epoch FROM c.ts - c.ingest_ts)), max(c.ingest_ts)
    FROM spend_calls c
    WHERE c.ingest_ts >= p_from AND c.ingest_ts <= p_to AND c.ts > c.ingest_ts + p_tolerance
      AND spend_dim_match(c.environment, p_environment) AND spend_dim_match(c.team, p_team)
      AND spend_dim_match(c.user_id, p_user) AND spend_dim_match(c.model, p_model)
      AND spend_dim_match(c.harness, p_harness) AND spend_dim_match(c.repository, p_repository)
    GROUP BY c.source, c.harness, c.user_id, c.machine_id
$$;
