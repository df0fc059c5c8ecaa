-- What each listed call inherits from its ancestor spans (migration 0009, docs/sources.md
-- "Trace context"): for every field, the value of the nearest ancestor that carries one.
-- The walk starts at the call's parent span and follows parent_span_id through
-- trace_spans of the same sender and trace, at most 32 levels (a cycle of forged ids ends
-- there too). Calls with no recorded ancestor return no row.
CREATE OR REPLACE FUNCTION trace_inherited(
    p_keys TEXT[], p_senders TEXT[], p_traces TEXT[], p_parents TEXT[]
) RETURNS TABLE (
    dedup_key TEXT, user_id TEXT, team TEXT, session_id TEXT, machine_id TEXT, environment TEXT,
    workspace_cwd TEXT, workspace_repo TEXT, workspace_branch TEXT
)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE walk AS (
        SELECT st.k, st.s, st.t, sp.parent_span_id AS up, 1 AS depth,
               sp.user_id, sp.team, sp.session_id, sp.machine_id, sp.environment,
               sp.workspace_cwd, sp.workspace_repo, sp.workspace_branch
        FROM unnest(p_keys, p_senders, p_traces, p_parents) AS st (k, s, t, p)
        JOIN trace_spans sp ON sp.sender = st.s AND sp.trace_id = st.t AND sp.span_id = st.p
        UNION ALL
        SELECT w.k, w.s, w.t, sp.parent_span_id, w.depth + 1,
               sp.user_id, sp.team, sp.session_id, sp.machine_id, sp.environment,
               sp.workspace_cwd, sp.workspace_repo, sp.workspace_branch
        FROM walk w
        JOIN trace_spans sp ON sp.sender = w.s AND sp.trace_id = w.t AND sp.span_id = w.up
        WHERE w.depth < 32
    )
    SELECT k,
           (array_agg(user_id ORDER BY depth) FILTER (WHERE user_id IS NOT NULL))[1],
           (array_agg(team ORDER BY depth) FILTER (WHERE team IS NOT NULL))[1],
           (array_agg(session_id ORDER BY depth) FILTER (WHERE session_id IS NOT NULL))[1],
           (array_agg(machine_id ORDER BY depth) FILTER (WHERE machine_id IS NOT NULL))[1],
           (array_agg(environment ORDER BY depth) FILTER (WHERE environment IS NOT NULL))[1],
           (array_agg(workspace_cwd ORDER BY depth) FILTER (WHERE workspace_cwd IS NOT NULL))[1],
           (array_agg(workspace_repo ORDER BY depth) FILTER (WHERE workspace_repo IS NOT NULL))[1],
           (array_agg(workspace_branch ORDER BY depth) FILTER (WHERE workspace_branch IS NOT NULL))[1]
    FROM walk
    GROUP BY k
$$;
