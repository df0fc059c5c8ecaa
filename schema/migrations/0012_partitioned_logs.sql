-- 0012: agent_spend_logs becomes range-partitioned by UTC day on ts, and the deduplication
-- identity moves to call_keys (issue 12 item 4; docs/scale.md "Partitioned history").
--
-- A UNIQUE (dedup_key) is impossible on a table partitioned by ts: two copies of one call may
-- carry timestamps on either side of a day boundary. call_keys, unpartitioned, holds every
-- stored call's key with the ts of the row that holds it; the writer claims a key there in
-- the same statement as it inserts the call (schema/objects/25_partitions/010_call_keys_trigger.sql
-- keeps it exact for every other write). Retention drops whole day partitions.
--
-- The move keeps every id and fires no trigger (the new table has none until the object
-- files are applied after this migration), so the rollups do not change. Stop the bridges
-- while this runs: an older bridge's INSERT ... ON CONFLICT (dedup_key) no longer matches a
-- constraint.

-- Tables, indexes and data only: the functions, views, types, triggers and grants are
-- the files of schema/objects/, applied after every migration run (see docs/schema.md).

LOCK TABLE agent_spend_logs IN ACCESS EXCLUSIVE MODE;

-- The key of every stored call and the ts of the row holding it (the partition to look in).
-- Kept RETENTION_KEY_GRACE_DAYS past the retention horizon, so a replay of a pruned call is
-- still recognised as a duplicate.
CREATE TABLE call_keys (
    dedup_key   TEXT PRIMARY KEY,
    ts          TIMESTAMPTZ NOT NULL
);

CREATE INDEX call_keys_ts ON call_keys (ts);

CREATE TABLE agent_spend_logs_partitioned (
    LIKE agent_spend_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING STORAGE
) PARTITION BY RANGE (ts);

-- Rows whose day has no partition (before the oldest one, e.g. a late call before the
-- retention horizon) land here: an insert never fails for a missing partition.
-- spend_partition_ensure() moves a day's rows out before creating its partition.
CREATE TABLE agent_spend_logs_default PARTITION OF agent_spend_logs_partitioned DEFAULT;

-- One partition per UTC day that holds rows, plus the maintenance window (7 days back,
-- 3 ahead: spend_partition_ensure() keeps it from now on).
DO $$
DECLARE
    today CONSTANT date := (now() AT TIME ZONE 'UTC')::date;
    d date;
    seq text;
BEGIN
    FOR d IN
        SELECT DISTINCT (l.ts AT TIME ZONE 'UTC')::date FROM agent_spend_logs l
        UNION
        SELECT generate_series(today - 7, today + 2, interval '1 day')::date
        ORDER BY 1
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF agent_spend_logs_partitioned FOR VALUES FROM (%L) TO (%L)',
                       'agent_spend_logs_' || to_char(d, 'YYYYMMDD'),
                       d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
    END LOOP;
    -- The identity continues where the old table's stopped (deleted ids are never reused).
    seq := pg_get_serial_sequence('agent_spend_logs', 'id');
    EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), s.last_value, s.is_called) FROM %s s',
                   'agent_spend_logs_partitioned', 'id', seq);
END
$$;

INSERT INTO agent_spend_logs_partitioned OVERRIDING SYSTEM VALUE SELECT * FROM agent_spend_logs;

INSERT INTO call_keys (dedup_key, ts) SELECT dedup_key, ts FROM agent_spend_logs;

-- Views over the old table go with it; the object files recreate them (and the triggers).
DROP TABLE agent_spend_logs CASCADE;

ALTER TABLE agent_spend_logs_partitioned RENAME TO agent_spend_logs;

ALTER SEQUENCE agent_spend_logs_partitioned_id_seq RENAME TO agent_spend_logs_id_seq;

-- A unique index of a partitioned table must hold the partition key.
ALTER TABLE agent_spend_logs ADD CONSTRAINT agent_spend_logs_pkey PRIMARY KEY (id, ts);

-- Exact replays never reach it (the writer claims keys in call_keys first); it is the
-- per-partition lookup of a key at its ts.
ALTER TABLE agent_spend_logs ADD CONSTRAINT agent_spend_logs_dedup_key UNIQUE (dedup_key, ts);

-- The access paths of 0001 and 0002, now partitioned indexes.
CREATE INDEX agent_spend_logs_ts ON agent_spend_logs (ts);

CREATE INDEX agent_spend_logs_user ON agent_spend_logs (user_id, ts);

CREATE INDEX agent_spend_logs_team ON agent_spend_logs (team, ts);

CREATE INDEX agent_spend_logs_model ON agent_spend_logs (model, ts);

CREATE INDEX agent_spend_logs_repo ON agent_spend_logs (workspace_repo, ts);

CREATE INDEX agent_spend_logs_session_ts ON agent_spend_logs (session_id, ts);

CREATE INDEX agent_spend_logs_ingest ON agent_spend_logs (ingest_ts);

CREATE INDEX agent_spend_logs_unpriced_models ON agent_spend_logs (model, provider) WHERE list_cost_usd IS NULL;

ANALYZE agent_spend_logs;

ANALYZE call_keys;
