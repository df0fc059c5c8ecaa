-- 0009: trace context, so a model call inherits the identity and workspace it lacks from
-- its ancestor spans (issue 10 section 2; docs/sources.md "Trace context").
--
-- GitHub Copilot puts usage on `chat` spans and the user and repository only on the
-- `invoke_agent` span that wraps them; agent frameworks do the same with user and session.
-- Parents end, and are exported, after their children, so either may arrive first. Both
-- tables are bounded by a window (config.TRACE_CONTEXT_WINDOW_SECONDS): the writer prunes
-- rows older than it, so they hold minutes of traffic, never history.

-- Tables, indexes and data only: the functions, views, types, triggers and grants are
-- the files of schema/objects/, applied after every migration run (see docs/schema.md).

-- Spans of GenAI traces that are not model calls (invoke_agent, execute_tool, a
-- framework's run span) and model-call spans with a parent: the links of the chain, and
-- the identity / workspace each carries itself (NULL when it carries none).
CREATE TABLE trace_spans (
    sender              TEXT NOT NULL,   -- the bound ingest token's name, '' when unbound
    trace_id            TEXT NOT NULL,
    span_id             TEXT NOT NULL,
    parent_span_id      TEXT,
    user_id             TEXT,
    team                TEXT,
    session_id          TEXT,
    machine_id          TEXT,
    environment         TEXT,
    workspace_cwd       TEXT,
    workspace_repo      TEXT,
    workspace_branch    TEXT,
    seen_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (sender, trace_id, span_id)
);

CREATE INDEX trace_spans_seen_at ON trace_spans (seen_at);

-- Stored calls that still lack a user, session or repository and have a parent span: when
-- an ancestor arrives later, they are completed from it.
CREATE TABLE trace_waiting (
    dedup_key           TEXT PRIMARY KEY,
    sender              TEXT NOT NULL,
    trace_id            TEXT NOT NULL,
    parent_span_id      TEXT NOT NULL,
    seen_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX trace_waiting_trace ON trace_waiting (trace_id);

CREATE INDEX trace_waiting_seen_at ON trace_waiting (seen_at);
