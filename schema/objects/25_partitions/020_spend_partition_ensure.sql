-- Day partitions of agent_spend_logs (migration 0012; docs/scale.md "Partitioned history").
-- A partition holds one UTC day, [d 00:00 UTC, d+1 00:00 UTC), and is named
-- agent_spend_logs_YYYYMMDD. Rows of a day without one go to agent_spend_logs_default.

-- The window kept ready: `behind` days before the current UTC day and `ahead` days after
-- it. The bridge accepts calls up to a day in the future (bridge/mapping/common.py
-- MAX_FUTURE_SECONDS; tests/test_partitions.py keeps ahead above it) and any late call.
CREATE OR REPLACE FUNCTION spend_partition_window(OUT behind INTEGER, OUT ahead INTEGER)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 7, 3
$$;

CREATE OR REPLACE FUNCTION spend_partition_name(d DATE) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'agent_spend_logs_' || to_char(d, 'YYYYMMDD')
$$;

-- The day partitions that exist, with their bounds (the default partition excluded).
CREATE OR REPLACE FUNCTION spend_partitions()
RETURNS TABLE (partition TEXT, day DATE, lower_bound TIMESTAMPTZ, upper_bound TIMESTAMPTZ)
LANGUAGE sql STABLE AS $$
    SELECT c.relname::text, (b.lo AT TIME ZONE 'UTC')::date, b.lo, b.hi
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (
        SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), $r$FROM \('([^']+)'\) TO \('([^']+)'\)$r$)) AS m
    ) x
    CROSS JOIN LATERAL (SELECT x.m[1]::timestamptz AS lo, x.m[2]::timestamptz AS hi) b
    WHERE i.inhparent = 'agent_spend_logs'::regclass AND x.m IS NOT NULL
    ORDER BY b.lo
$$;

-- Creates the missing day partitions of [p_from, p_to] (dates, inclusive); returns how many.
-- Each is built as a table and attached (SHARE UPDATE EXCLUSIVE on agent_spend_logs, so
-- writers and readers go on); rows of its day already in the default partition are moved
-- into it first, directly between the two partitions, which fires no statement trigger of
-- agent_spend_logs: the rows, their ids and call_keys stay as they were, the rollups too.
CREATE OR REPLACE FUNCTION spend_partition_ensure(p_from DATE, p_to DATE) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    d DATE;
    name TEXT;
    lo TIMESTAMPTZ;
    hi TIMESTAMPTZ;
    created INTEGER := 0;
BEGIN
    FOR d IN SELECT generate_series(p_from, p_to, interval '1 day')::date LOOP
        name := spend_partition_name(d);
        CONTINUE WHEN to_regclass(quote_ident(name)) IS NOT NULL;  -- the usual case, cheap
        -- One creator at a time (several bridges, migrate); the others find the work done.
        PERFORM pg_advisory_xact_lock(hashtext('spend_partition_ensure'));
        lo := d::timestamp AT TIME ZONE 'UTC';
        hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
        CONTINUE WHEN EXISTS (SELECT FROM spend_partitions() p WHERE p.lower_bound < hi AND p.upper_bound > lo);
        EXECUTE format('CREATE TABLE %I (LIKE agent_spend_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                       'INCLUDING STORAGE)', name);
        EXECUTE format('WITH moved AS (DELETE FROM agent_spend_logs_default WHERE ts >= $1 AND ts < $2 RETURNING *) '
                       'INSERT INTO %I SELECT * FROM moved', name) USING lo, hi;
        EXECUTE format('ALTER TABLE agent_spend_logs ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;

-- The window around p_now: called by every migrate and by the writer's maintenance.
CREATE OR REPLACE FUNCTION spend_partition_maintain(p_now TIMESTAMPTZ DEFAULT now()) RETURNS INTEGER
LANGUAGE sql AS $$
    SELECT spend_partition_ensure((p_now AT TIME ZONE 'UTC')::date - w.behind,
                                  (p_now AT TIME ZONE 'UTC')::date + w.ahead - 1)
    FROM spend_partition_window() w
$$;
