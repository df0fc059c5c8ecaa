CREATE OR REPLACE FUNCTION spend_rollup_trigger() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    src TEXT;
    zero TIMESTAMPTZ[];
    affected TEXT[];
    horizon TIMESTAMPTZ;
    latest TIMESTAMPTZ;
    dim TEXT;
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('agent_spend.retention', true) = 'on' THEN
        -- Retention: rollups keep the history, so nothing is subtracted; the pruned calls
        -- move into session_archive so later session recomputes still count them.
        horizon := spend_retention_horizon();
        SELECT max(o.ts) INTO latest FROM old_rows o;
        IF latest >= horizon THEN
            RAISE EXCEPTION 'retention delete of a row at % is not before the recorded horizon %', latest, horizon
                USING HINT = 'record the horizon in retention_state first (agent-spend retention does)';
        END IF;
        EXECUTE session_rollup_merge('session_archive', spend_rollup_input('old_rows', 1));
        RETURN NULL;
    END IF;

    -- Replays (every row a duplicate) and no-op statements end here, before any planning.
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT FROM new_rows) THEN
            RETURN NULL;
        END IF;
        src := spend_rollup_input('new_rows', 1);
    ELSIF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT FROM old_rows) THEN
            RETURN NULL;
        END IF;
        src := spend_rollup_input('old_rows', -1);
    ELSE
        IF NOT EXISTS (SELECT FROM new_rows) THEN
            RETURN NULL;
        END IF;
        -- Only rows whose rollup inputs changed (re-pricing, a dimension fix): subtract the
        -- old version, add the new one. Unpaired ids (id reset to DEFAULT) count as changed.
        src := spend_rollup_input('new_rows', 1, format(
                   'WHERE NOT EXISTS (SELECT FROM old_rows o WHERE o.id = r.id AND (%s) IS NOT DISTINCT FROM (%s))',
                   spend_rollup_input_columns('o'), spend_rollup_input_columns('r')))
            || ' UNION ALL '
            || spend_rollup_input('old_rows', -1, format(
                   'WHERE NOT EXISTS (SELECT FROM new_rows n WHERE n.id = r.id AND (%s) IS NOT DISTINCT FROM (%s))',
                   spend_rollup_input_columns('n'), spend_rollup_input_columns('r')));
    END IF;

    -- The same order in every transaction (hourly, daily, the registry by position,
    -- sessions) keeps the lock order global.
    EXECUTE spend_rollup_upsert('spend_hourly', 'hour', src) INTO zero;
    IF zero IS NOT NULL THEN
        DELETE FROM spend_hourly WHERE bucket = ANY(zero) AND calls = 0;
    END IF;
    EXECUTE spend_rollup_upsert('spend_daily', 'day', src) INTO zero;
    IF zero IS NOT NULL THEN
        DELETE FROM spend_daily WHERE bucket = ANY(zero) AND calls = 0;
    END IF;
    FOREACH dim IN ARRAY spend_rollup_derived() LOOP
        EXECUTE spend_rollup_upsert_dim(dim, src) INTO zero;
        IF zero IS NOT NULL THEN
            EXECUTE format('DELETE FROM %I WHERE bucket = ANY($1) AND calls = 0', dim) USING zero;
        END IF;
    END LOOP;

    IF TG_OP = 'INSERT' THEN
        EXECUTE session_rollup_merge('session_rollup', src);
    ELSE
        EXECUTE format('SELECT array_agg(DISTINCT s.session_id) FROM (%s) s WHERE s.session_id IS NOT NULL', src)
            INTO affected;
        IF affected IS NOT NULL THEN
            LOCK TABLE session_rollup IN SHARE ROW EXCLUSIVE MODE;
            PERFORM session_rollup_recompute(affected);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- Statement-level: one aggregate per statement, whatever its row count. Inserts run the same
-- statements as static SQL (spend_rollup_insert_trigger, 190_spend_rollup_insert_trigger.sql).
CREATE OR REPLACE TRIGGER spend_rollup_update AFTER UPDATE ON agent_spend_logs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spend_rollup_trigger();
CREATE OR REPLACE TRIGGER spend_rollup_delete AFTER DELETE ON agent_spend_logs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spend_rollup_trigger();
