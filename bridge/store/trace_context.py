"""Trace context in the writer's transaction: the statements that store span contexts, fill
staged calls from their ancestors, park calls that wait for one, and prune to the window.

The ancestor walk and the completion of stored rows are SQL objects
(schema/objects/35_trace_context/); docs/sources.md "Trace context" says what is inherited.
One write transaction (transaction.py, `write_once`) runs these in the order it documents.
"""

from __future__ import annotations

from typing import Any

from bridge.store.rows import COLUMNS, CONTEXT_COLUMNS

CONTEXT_COLS = ", ".join(CONTEXT_COLUMNS)
CREATE_STAGING_SPANS = (
    f"CREATE TEMP TABLE IF NOT EXISTS staging_spans AS SELECT {CONTEXT_COLS} FROM trace_spans WITH NO DATA"
)
# The first copy of a span's context wins, as for calls; the traces that gained a span are
# the ones whose waiting calls may now be completed.
INSERT_SPANS = f"""
    INSERT INTO trace_spans ({CONTEXT_COLS})
    SELECT DISTINCT ON (sender, trace_id, span_id) {CONTEXT_COLS} FROM staging_spans
    ORDER BY sender, trace_id, span_id
    ON CONFLICT (sender, trace_id, span_id) DO NOTHING
    RETURNING trace_id
"""
# Staged calls with a parent that lack a user, session or repository (model.lacks_key_identity)
# take every missing field from their nearest ancestors already stored (this batch's contexts
# included). A NULL team is resolved from `users` at insert, so a filled user brings its team.
_LACKS = "(s.user_id = 'unknown' OR s.session_id IS NULL OR s.workspace_repo IS NULL)"
FILL_STAGING = f"""
    UPDATE staging_calls s SET
        user_id = CASE WHEN s.user_id = 'unknown' THEN COALESCE(i.user_id, s.user_id) ELSE s.user_id END,
        team = CASE WHEN s.team IS NULL OR s.team = 'unknown' THEN COALESCE(i.team, s.team) ELSE s.team END,
        environment = CASE WHEN s.environment = 'unknown' THEN COALESCE(i.environment, s.environment)
                           ELSE s.environment END,
        session_id = COALESCE(s.session_id, i.session_id),
        machine_id = COALESCE(s.machine_id, i.machine_id),
        workspace_cwd = COALESCE(s.workspace_cwd, i.workspace_cwd),
        workspace_repo = COALESCE(s.workspace_repo, i.workspace_repo),
        workspace_branch = COALESCE(s.workspace_branch, i.workspace_branch)
    FROM (
        SELECT array_agg(dedup_key) AS k, array_agg(sender) AS se, array_agg(trace_id) AS t,
               array_agg(parent_span_id) AS p
        FROM staging_calls s WHERE s.parent_span_id IS NOT NULL AND s.trace_id IS NOT NULL AND {_LACKS}
    ) a CROSS JOIN LATERAL trace_inherited(a.k, a.se, a.t, a.p) i
    WHERE s.dedup_key = i.dedup_key
"""
# New rows that still lack a user, session or repository wait for an ancestor to arrive.
INSERT_WAITING = f"""
    INSERT INTO trace_waiting (dedup_key, sender, trace_id, parent_span_id)
    SELECT DISTINCT ON (dedup_key) dedup_key, sender, trace_id, parent_span_id FROM staging_calls s
    WHERE dedup_key = ANY (%s) AND parent_span_id IS NOT NULL AND trace_id IS NOT NULL
      AND {_LACKS}  -- after the fill
    ORDER BY dedup_key, ord
    ON CONFLICT (dedup_key) DO NOTHING
"""
COMPLETE_TRACES = "SELECT trace_context_complete(%s)"
PRUNE_CONTEXT = (
    "DELETE FROM trace_spans WHERE seen_at < now() - make_interval(secs => %(window)s)",
    "DELETE FROM trace_waiting WHERE seen_at < now() - make_interval(secs => %(window)s)",
)
# Traces that gained context since the last maintenance (plus a margin): a call committed by
# another bridge while this one committed its parent is completed here.
RECENT_TRACES = """
    SELECT coalesce(array_agg(DISTINCT trace_id), '{}') FROM trace_spans
    WHERE seen_at >= now() - make_interval(secs => %s)
"""


_USER, _SESSION, _REPO = (COLUMNS.index(c) for c in ("user_id", "session_id", "workspace_repo"))


def lacks_key_identity(row: tuple[Any, ...]) -> bool:
    """model.lacks_key_identity on a staged row (the SQL's _LACKS): only such rows are filled or wait."""
    return row[_USER] == "unknown" or row[_SESSION] is None or row[_REPO] is None
