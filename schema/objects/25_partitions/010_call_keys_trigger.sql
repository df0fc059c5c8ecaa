-- call_keys (migration 0012) holds the key of every stored call and the ts of the row that
-- holds it: the deduplication a UNIQUE (dedup_key) gave before agent_spend_logs was
-- partitioned by ts. The writer claims keys itself (INSERT INTO call_keys ... ON CONFLICT DO
-- NOTHING, in the statement that inserts the calls); these statement-level triggers keep
-- the table exact for every other write, and refuse a second row for a key:
--   insert: keys not yet claimed are claimed; a row whose key is held at another ts is a
--           duplicate: unique_violation, as the constraint raised;
--   update: a row whose ts or key changed moves its key (same rule for the new key);
--   delete: the keys go with their rows, except on retention (agent_spend.retention = on),
--           which keeps them for spend_key_grace() so a replay of a pruned call stays a
--           duplicate (bridge/admin/retention.py prunes them later).
-- The writer's direct path claims each key at its row's ts in the same transaction, then
-- COPYs exactly the claimed rows, and says so with SET LOCAL agent_spend.keys_claimed = on:
-- the insert check would only re-read the keys it just wrote, so it is skipped for that
-- transaction's inserts (updates and deletes are checked as always).
CREATE OR REPLACE FUNCTION call_keys_trigger() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    clash TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF current_setting('agent_spend.retention', true) IS DISTINCT FROM 'on' THEN
            DELETE FROM call_keys k USING old_rows o WHERE k.dedup_key = o.dedup_key AND k.ts = o.ts;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' AND current_setting('agent_spend.keys_claimed', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM call_keys k
        USING old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (n.dedup_key, n.ts) IS DISTINCT FROM (o.dedup_key, o.ts)
          AND k.dedup_key = o.dedup_key AND k.ts = o.ts;
        IF NOT FOUND THEN
            RETURN NULL;  -- no key or ts changed: nothing to check
        END IF;
        INSERT INTO call_keys (dedup_key, ts)
        SELECT n.dedup_key, n.ts FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.dedup_key, n.ts) IS DISTINCT FROM (o.dedup_key, o.ts)
        ON CONFLICT (dedup_key) DO NOTHING;
    ELSE
        INSERT INTO call_keys (dedup_key, ts)
        SELECT n.dedup_key, n.ts FROM new_rows n
        WHERE NOT EXISTS (SELECT FROM call_keys k WHERE k.dedup_key = n.dedup_key)
        ON CONFLICT (dedup_key) DO NOTHING;
    END IF;
    SELECT n.dedup_key INTO clash
    FROM new_rows n JOIN call_keys k ON k.dedup_key = n.dedup_key
    WHERE k.ts <> n.ts
    LIMIT 1;
    IF clash IS NOT NULL THEN
        RAISE unique_violation USING
            MESSAGE = format('duplicate key value violates unique constraint "call_keys_pkey": a call %L is already stored at another ts', clash),
            CONSTRAINT = 'call_keys_pkey', TABLE = 'call_keys';
    END IF;
    RETURN NULL;
END
$$;

-- Named so they fire before the rollup triggers (AFTER triggers fire in name order).
CREATE OR REPLACE TRIGGER call_keys_insert AFTER INSERT ON agent_spend_logs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION call_keys_trigger();
CREATE OR REPLACE TRIGGER call_keys_update AFTER UPDATE ON agent_spend_logs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION call_keys_trigger();
CREATE OR REPLACE TRIGGER call_keys_delete AFTER DELETE ON agent_spend_logs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION call_keys_trigger();
