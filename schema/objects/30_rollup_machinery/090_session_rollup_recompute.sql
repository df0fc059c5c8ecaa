-- Replaces the given sessions (NULL: all) by their expected value. Callers hold a lock that
-- keeps writers from merging into session_rollup until they commit (SHARE ROW EXCLUSIVE
-- on session_rollup or agent_spend_logs): a writer whose rows this snapshot cannot see
-- then merges them on top of the replacement, so nothing is lost or counted twice.
CREATE OR REPLACE FUNCTION session_rollup_recompute(ids TEXT[]) RETURNS TABLE (removed BIGINT, written BIGINT)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM session_rollup s WHERE ids IS NULL OR s.session_id = ANY(ids);
    GET DIAGNOSTICS removed = ROW_COUNT;
    EXECUTE format('INSERT INTO session_rollup SELECT * FROM (%s) e ORDER BY e.session_id',
                   session_rollup_expected('$1::text[]')) USING ids;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN NEXT;
END
$$;
