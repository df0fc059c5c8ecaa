-- Prompt tokens (input + cache read + cache write) above which a call is "long context".
-- The one SQL copy of bridge/config.py's LONG_CONTEXT_THRESHOLD (a test keeps them equal);
-- IMMUTABLE, so the planner folds it to a constant wherever it is used.
CREATE OR REPLACE FUNCTION spend_long_context_threshold() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 200000::bigint $$;
