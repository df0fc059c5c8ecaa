-- The INSERT path of spend_rollup_trigger() as static SQL, generated from the registry.
--
-- Why: every writer batch is one INSERT statement on agent_spend_logs, and the general
-- trigger builds its statements with format() and runs them with EXECUTE, so PostgreSQL
-- generated and planned seven upserts on every batch (~5 ms per batch on a loaded 2-core
-- machine, by pg_stat_statements with track_planning; docs/scale.md "Fourth pass"). A PL/pgSQL
-- function with the same statements written out keeps their plans for the session.
--
-- The batch's rows are read twice, not eight times: once aggregated into its hourly deltas
-- (`hourly`, a spend_hourly[]; a writer batch of ~390 calls held ~25 hourly keys in the
-- bench), once for sessions. spend_daily and the registry's rollups are derived from those
-- deltas (spend_rollup_rebucket, then spend_rollup_project[_keys]): exact, since an hour lies
-- in one UTC day and every measure is a sum. The statements come from the builders the
-- general trigger uses (spend_rollup_upsert_rows, session_rollup_merge), in the same order (hourly, daily, the registry by position,
-- sessions): the same lock order. UPDATE and DELETE keep the general trigger. spend_rollup_install() regenerates the function; it runs when the object
-- files are applied (every migrate) and, through spend_rollup_registry_changed, whenever the
-- registry changes, so a rollup added with CREATE TABLE + INSERT INTO spend_rollup_registry is
-- maintained without editing a function.
CREATE OR REPLACE FUNCTION spend_rollup_install() RETURNS VOID
LANGUAGE plpgsql AS $install$
DECLARE
    src CONSTANT TEXT := spend_rollup_input('new_rows', 1);
    fine CONSTANT TEXT := 'SELECT * FROM unnest(hourly)';
    fine_keys CONSTANT TEXT[] := spend_rollup_fine_keys();
    body TEXT;
    dim TEXT;
BEGIN
    body := E'DECLARE\n    zero TIMESTAMPTZ[];\n    hourly spend_hourly[];\nBEGIN\n'
        || E'    IF NOT EXISTS (SELECT FROM new_rows) THEN\n        RETURN NULL;\n    END IF;\n'
        || format(E'    hourly := ARRAY(SELECT ROW(a.*)::spend_hourly FROM (%s) a);\n',
                  spend_rollup_aggregate('hour', src))
        || spend_rollup_upsert_rows('spend_hourly', fine_keys, fine) || E'\n    INTO zero;\n'
        || E'    IF zero IS NOT NULL THEN\n'
        || E'        DELETE FROM spend_hourly WHERE bucket = ANY(zero) AND calls = 0;\n    END IF;\n'
        || spend_rollup_upsert_rows('spend_daily', fine_keys,
                                    spend_rollup_project_keys(fine_keys, spend_rollup_rebucket('day', fine)))
        || E'\n    INTO zero;\n'
        || E'    IF zero IS NOT NULL THEN\n'
        || E'        DELETE FROM spend_daily WHERE bucket = ANY(zero) AND calls = 0;\n    END IF;\n';
    FOREACH dim IN ARRAY coalesce(spend_rollup_derived(), '{}') LOOP
        body := body
            || spend_rollup_upsert_rows(
                   dim, spend_rollup_keys(dim),
                   spend_rollup_project(dim, spend_rollup_rebucket(spend_rollup_grain(dim), fine)))
            || E'\n    INTO zero;\n'
            || E'    IF zero IS NOT NULL THEN\n'
            || format(E'        DELETE FROM %I WHERE bucket = ANY(zero) AND calls = 0;\n    END IF;\n', dim);
    END LOOP;
    body := body || session_rollup_merge('session_rollup', src) || E';\n    RETURN NULL;\nEND\n';
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION spend_rollup_insert_trigger() RETURNS TRIGGER LANGUAGE plpgsql AS %L',
        body);
END
$install$;

SELECT spend_rollup_install();

CREATE OR REPLACE TRIGGER spend_rollup_insert AFTER INSERT ON agent_spend_logs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spend_rollup_insert_trigger();
