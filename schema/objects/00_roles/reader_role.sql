DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'agent_spend_reader') THEN
        BEGIN
            CREATE ROLE agent_spend_reader NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created concurrently by the migration of another database
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'the migrating role may not create roles'
                    USING HINT = 'have an administrator run CREATE ROLE agent_spend_reader NOLOGIN, then migrate again';
        END;
    END IF;
    -- Usually already granted to PUBLIC; explicit for hardened servers, best effort for
    -- migrating roles that do not own the database or schema.
    BEGIN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO agent_spend_reader', current_database());
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO agent_spend_reader', current_schema());
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'could not grant CONNECT/USAGE to agent_spend_reader: %', SQLERRM;
    END;
END
$$;
