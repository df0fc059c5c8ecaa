-- The INSERT path of spend_rollup_trigger() as static SQL, generated from the registry.
--
-- Why: every writer batch is one INSERT statement on agent_spend_logs, and the general
-- trigger builds its statements with format() and runs them with EXECUTE, so PostgreSQL
-- generated and planned seven upserts on every batch (~5 ms per batch on a loaded 2-core
-- machine, by pg_stat_statements with track_planning; docs/scale.md "Fourth pass"). A PL/pgSQL
-- function with the same statements written out keeps their plans for the session.
--
-- The statements are the ones the general trigger EXECUTEs for an INSERT, produced by the same
-- functions (spend_rollup_upsert, spend_rollup_upsert_dim, session_rollup_merge over
-- spend_rollup_input('new_rows', 1)), in the same order (hourly, daily, the registry by
-- position, sessions): the same rows and the same lock order. UPDATE and DELETE keep the
-- general trigger. spend_rollup_install() regenerates the function; it runs when the object
-- files are applied (every migrate) and, through spend_rollup_registry_changed, whenever the
-- registry changes, so a rollup added with CREATE TABLE + INSERT INTO spend_rollup_registry is
-- maintained without editing a function.
CREATE OR REPLACE FUNCTION spend_rollup_install() RETURNS VOID
LANGUAGE plpgsql AS $install$
DECLARE
    src CONSTANT TEXT := spend_rollup_input('new_rows', 1);
    body TEXT;
    dim TEXT;
BEGIN
    body := E'DECLARE\n    zero TIMESTAMPTZ[];\nBEGIN\n'
        || E'    IF NOT EXISTS (SELECT FROM new_rows) THEN\n        RETURN NULL;\n    END IF;\n'
        || spend_rollup_upsert('spend_hourly', 'hour', src) || E'\n    INTO zero;\n'
        || E'    IF zero IS NOT NULL THEN\n'
        || E'        DELETE FROM spend_hourly WHERE bucket = ANY(zero) AND calls = 0;\n    END IF;\n'
        || spend_rollup_upsert('spend_daily', 'day', src) || E'\n    INTO zero;\n'
        || E'    IF zero IS NOT NULL THEN\n'
        || E'        DELETE FROM spend_daily WHERE bucket = ANY(zero) AND calls = 0;\n    END IF;\n';
    FOREACH dim IN ARRAY coalesce(spend_rollup_derived(), '{}') LOOP
        body := body || spend_rollup_upsert_dim(dim, src) || E'\n    INTO zero;\n'
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
