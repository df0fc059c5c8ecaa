-- Complete the stored calls of these traces that wait for an ancestor (trace_waiting) with
-- what their ancestors now carry. Only missing fields are filled ('unknown' user, team,
-- environment; NULL session, machine, workspace); tokens and cost never change. A filled
-- user brings its team from `users` when the row's team is unknown, as at insert. The
-- UPDATE fires the rollup trigger, which moves the row's figures to its new key, so the
-- rollups stay exact. Each row is found at the ts call_keys holds for it, so the update
-- reads one partition of agent_spend_logs (migration 0012). Returns the number of rows completed.
--
-- PL/pgSQL, not SQL: the writer calls this on every batch whose span contexts are new, and
-- usually nothing of those traces waits. The early return skips the statement then, and when
-- it does run its plan is kept for the session (a SQL function's UPDATE over every day
-- partition was planned on each call: about a third of a millisecond per batch).
CREATE OR REPLACE FUNCTION trace_context_complete(p_traces TEXT[]) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    completed BIGINT;
BEGIN
    IF NOT EXISTS (SELECT FROM trace_waiting WHERE trace_id = ANY (p_traces)) THEN
        RETURN 0;
    END IF;
    WITH w AS (
        SELECT array_agg(dedup_key) AS k, array_agg(sender) AS s,
               array_agg(trace_id) AS t, array_agg(parent_span_id) AS p
        FROM trace_waiting WHERE trace_id = ANY (p_traces)
    ), found AS (
        SELECT i.*, u.team AS user_team, k.ts
        FROM w CROSS JOIN LATERAL trace_inherited(w.k, w.s, w.t, w.p) i
        JOIN call_keys k ON k.dedup_key = i.dedup_key
        LEFT JOIN users u ON u.user_id = i.user_id
    ), done AS (
        UPDATE agent_spend_logs l SET
            user_id = CASE WHEN l.user_id = 'unknown' THEN COALESCE(f.user_id, l.user_id) ELSE l.user_id END,
            team = CASE WHEN l.team = 'unknown'
                        THEN COALESCE(f.team, CASE WHEN l.user_id = 'unknown' THEN f.user_team END, l.team)
                        ELSE l.team END,
            environment = CASE WHEN l.environment = 'unknown' THEN COALESCE(f.environment, l.environment)
                               ELSE l.environment END,
            session_id = COALESCE(l.session_id, f.session_id),
            machine_id = COALESCE(l.machine_id, f.machine_id),
            workspace_cwd = COALESCE(l.workspace_cwd, f.workspace_cwd),
            workspace_repo = COALESCE(l.workspace_repo, f.workspace_repo),
            workspace_branch = COALESCE(l.workspace_branch, f.workspace_branch)
        FROM found f
        WHERE l.dedup_key = f.dedup_key AND l.ts = f.ts
          AND ((l.user_id = 'unknown' AND f.user_id IS NOT NULL)
               OR (l.team = 'unknown' AND (f.team IS NOT NULL
                                           OR (l.user_id = 'unknown' AND f.user_team IS NOT NULL)))
               OR (l.environment = 'unknown' AND f.environment IS NOT NULL)
               OR (l.session_id IS NULL AND f.session_id IS NOT NULL)
               OR (l.machine_id IS NULL AND f.machine_id IS NOT NULL)
               OR (l.workspace_cwd IS NULL AND f.workspace_cwd IS NOT NULL)
               OR (l.workspace_repo IS NULL AND f.workspace_repo IS NOT NULL)
               OR (l.workspace_branch IS NULL AND f.workspace_branch IS NOT NULL))
        RETURNING 1
    )
    SELECT count(*) INTO completed FROM done;
    RETURN completed;
END
$$;
