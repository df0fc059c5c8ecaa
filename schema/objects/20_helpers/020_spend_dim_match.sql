-- The dashboard filter test: "All" selected, or the value is one of the selected ones.
-- Inlined by the planner; with constant arrays the "All" case folds away entirely.
CREATE OR REPLACE FUNCTION spend_dim_match(p_value text, p_selected text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '__all' = ANY (p_selected) OR p_value = ANY (p_selected) $$;
