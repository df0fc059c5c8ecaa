CREATE OR REPLACE FUNCTION rejections_by_reason(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (reason text, signal text, rejected numeric, last_seen timestamptz, example jsonb)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT r.reason, r.signal, sum(r.rejected), max(r.bucket),
           (array_agg(r.example ORDER BY r.bucket DESC) FILTER (WHERE r.example IS NOT NULL))[1]
    FROM ingest_rejection_log r
    WHERE r.bucket >= date_trunc('minute', p_from) AND r.bucket <= p_to
    GROUP BY r.reason, r.signal
$$;
