-- A change to spend_rollup_registry regenerates spend_rollup_insert_trigger() (see
-- 190_spend_rollup_insert_trigger.sql), in the changing transaction: the next insert maintains
-- exactly the registered rollups.
CREATE OR REPLACE FUNCTION spend_rollup_registry_changed() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM spend_rollup_install();
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER spend_rollup_registry_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON spend_rollup_registry
    FOR EACH STATEMENT EXECUTE FUNCTION spend_rollup_registry_changed();
