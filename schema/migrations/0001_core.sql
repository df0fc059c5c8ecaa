-- agent-spend core schema: one row per model call, plus the identity tables the
-- bridge uses to resolve a developer's team at ingest time.

-- Tables, indexes and data only: the functions, views, types, triggers and grants are
-- the files of schema/objects/, applied after every migration run (see docs/schema.md).

CREATE TABLE teams (
    team        TEXT PRIMARY KEY,
    display_name TEXT,
    monthly_budget_usd NUMERIC(14, 2),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- user_id is whatever identity the harness reports (usually an email).
CREATE TABLE users (
    user_id     TEXT PRIMARY KEY,
    team        TEXT REFERENCES teams (team) ON UPDATE CASCADE ON DELETE SET NULL,
    display_name TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE agent_spend_logs (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Deduplication identity of the model call. Spans use trace:span; log-record
    -- sources use a stable event id; harness adapters that know the provider's
    -- request id use it, so the same call arriving through two signals is one row.
    dedup_key           TEXT NOT NULL,
    ts                  TIMESTAMPTZ NOT NULL,          -- call start
    ingest_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    trace_id            TEXT,
    span_id             TEXT,
    event_id            TEXT,
    source              TEXT NOT NULL,                 -- mapping adapter that produced the row
    signal              TEXT NOT NULL CHECK (signal IN ('trace', 'log')),

    user_id             TEXT NOT NULL DEFAULT 'unknown',
    team                TEXT NOT NULL DEFAULT 'unknown',
    machine_id          TEXT,
    session_id          TEXT,
    workspace_cwd       TEXT,
    workspace_repo      TEXT,
    workspace_branch    TEXT,
    workspace_is_ci     BOOLEAN NOT NULL DEFAULT false,
    environment         TEXT NOT NULL DEFAULT 'unknown',

    provider            TEXT NOT NULL DEFAULT 'unknown',
    request_model       TEXT,
    response_model      TEXT,
    model               TEXT NOT NULL,                 -- response model, else request model
    harness_name        TEXT NOT NULL DEFAULT 'unknown',
    harness_version     TEXT,
    api_dialect         TEXT,
    operation           TEXT,

    -- Disjoint token buckets: input is *uncached* input; output includes reasoning.
    input_tokens        BIGINT NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens       BIGINT NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cache_read_tokens   BIGINT NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
    cache_write_tokens  BIGINT NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
    reasoning_tokens    BIGINT NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0), -- informational, inside output

    -- Cost used by the dashboards, split per bucket. NUMERIC so sums are exact.
    input_cost_usd      NUMERIC(20, 10),
    output_cost_usd     NUMERIC(20, 10),
    cache_read_cost_usd NUMERIC(20, 10),
    cache_write_cost_usd NUMERIC(20, 10),
    total_cost_usd      NUMERIC(20, 10),
    cost_estimation     TEXT NOT NULL DEFAULT 'unreported'
                        CHECK (cost_estimation IN ('metered', 'subscription', 'unreported')),
    reported_cost_usd   NUMERIC(20, 10),               -- what the emitter said, if anything
    list_cost_usd       NUMERIC(20, 10),               -- computed from list prices, if the model is known
    cost_source         TEXT NOT NULL DEFAULT 'none'
                        CHECK (cost_source IN ('reported', 'list_price', 'override', 'none')),
    price_version       TEXT,

    duration_ms         DOUBLE PRECISION,
    status              TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'error')),
    error               TEXT,
    stop_reason         TEXT,
    finish_reasons      TEXT[],
    attributes          JSONB NOT NULL DEFAULT '{}'::jsonb,

    CONSTRAINT agent_spend_logs_dedup_key UNIQUE (dedup_key)
);

-- Access paths of the dashboards: time ranges, optionally narrowed by one dimension.
CREATE INDEX agent_spend_logs_ts_btree ON agent_spend_logs (ts);

CREATE INDEX agent_spend_logs_user_ts ON agent_spend_logs (user_id, ts);

CREATE INDEX agent_spend_logs_team_ts ON agent_spend_logs (team, ts);

CREATE INDEX agent_spend_logs_model_ts ON agent_spend_logs (model, ts);

CREATE INDEX agent_spend_logs_repo_ts ON agent_spend_logs (workspace_repo, ts);

CREATE INDEX agent_spend_logs_session ON agent_spend_logs (session_id, ts);

CREATE INDEX agent_spend_logs_ingest_ts ON agent_spend_logs (ingest_ts);

-- Per-minute ingest accounting, written in the same transaction as the rows, so the
-- data-quality dashboard can show what was received, stored, deduplicated and refused.
CREATE TABLE ingest_stats (
    bucket          TIMESTAMPTZ NOT NULL,
    signal          TEXT NOT NULL,
    records_received BIGINT NOT NULL DEFAULT 0,   -- model-call records after mapping
    rows_written    BIGINT NOT NULL DEFAULT 0,
    duplicates_skipped BIGINT NOT NULL DEFAULT 0,
    rejected        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, signal)
);

CREATE TABLE ingest_rejections (
    bucket  TIMESTAMPTZ NOT NULL,
    signal  TEXT NOT NULL,
    reason  TEXT NOT NULL,
    count   BIGINT NOT NULL DEFAULT 0,
    example JSONB,
    PRIMARY KEY (bucket, signal, reason)
);
