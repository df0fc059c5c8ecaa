-- Retention of one day partition (bridge/admin/retention.py): detach it, move its calls'
-- session figures into session_archive (what the rollup trigger's retention branch does for
-- deleted rows), drop it. Nothing is subtracted from any rollup: they keep the history. The
-- partition must end at or before the recorded horizon (retention_state), so verify never
-- compares a bucket whose raw rows are partly gone. call_keys keep the partition's keys
-- (spend_key_grace()). Returns the number of calls dropped.
CREATE OR REPLACE FUNCTION spend_partition_retire(p_partition TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    bound TIMESTAMPTZ;
    horizon TIMESTAMPTZ := spend_retention_horizon();
    dropped BIGINT;
BEGIN
    SELECT p.upper_bound INTO bound FROM spend_partitions() p WHERE p.partition = p_partition;
    IF bound IS NULL THEN
        RAISE EXCEPTION '% is not a day partition of agent_spend_logs', p_partition;
    END IF;
    IF bound > horizon THEN
        RAISE EXCEPTION 'retention of partition % (up to %) is not before the recorded horizon %', p_partition,
            bound, horizon
            USING HINT = 'record the horizon in retention_state first (agent-spend retention does)';
    END IF;
    EXECUTE format('ALTER TABLE agent_spend_logs DETACH PARTITION %I', p_partition);
    EXECUTE format('SELECT count(*) FROM %I', p_partition) INTO dropped;
    IF dropped > 0 THEN
        EXECUTE session_rollup_merge('session_archive', spend_rollup_input(quote_ident(p_partition), 1));
    END IF;
    EXECUTE format('DROP TABLE %I', p_partition);
    RETURN dropped;
END
$$;

-- How long call_keys keep the keys of pruned calls after the retention horizon: a replay
-- of a call pruned less than this long ago is still a duplicate (exporters retry for
-- minutes, a collector's persistent queue for hours or days).
CREATE OR REPLACE FUNCTION spend_key_grace() RETURNS INTERVAL
LANGUAGE sql IMMUTABLE AS $$
    SELECT interval '7 days'
$$;
