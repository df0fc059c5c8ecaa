-- 0008: what the providers billed, beside what telemetry saw (docs/reconcile.md).
--
-- `agent-spend reconcile` pulls the providers' admin reports (Anthropic usage/cost and
-- Claude Code analytics, OpenAI usage/costs) and `reconcile import` reads their consoles'
-- CSV exports; both write here. A pull replaces whole days: every row of one
-- (provider, report, day) is deleted and written again in one transaction, so re-pulling a
-- day (a late correction) replaces it and never adds to it.

-- Tables, indexes and data only: the functions, views, types, triggers and grants are
-- the files of schema/objects/, applied after every migration run (see docs/schema.md).

CREATE TABLE billing_lines (
    provider            TEXT NOT NULL,              -- telemetry's spelling: 'anthropic', 'openai'
    report              TEXT NOT NULL,              -- 'usage', 'cost', 'claude_code', 'csv_usage', 'csv_cost'
    day                 DATE NOT NULL,              -- the provider's 1-day bucket, UTC
    model               TEXT NOT NULL DEFAULT '',   -- '' when the line names none
    account             TEXT NOT NULL DEFAULT '',   -- api key / workspace / project id, as reported
    user_ref            TEXT NOT NULL DEFAULT '',   -- email or account id, where the report names users
    line_item           TEXT NOT NULL DEFAULT '',   -- cost line (token type, description, service tier)
    requests            BIGINT,
    -- Disjoint buckets, as in agent_spend_logs: input is uncached input.
    input_tokens        BIGINT NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens       BIGINT NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cache_read_tokens   BIGINT NOT NULL DEFAULT 0 CHECK (cache_read_tokens >= 0),
    cache_write_tokens  BIGINT NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
    cost_usd            NUMERIC(20, 10),            -- dollars, converted from the report's unit
    pulled_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, report, day, model, account, user_ref, line_item)
);

CREATE INDEX billing_lines_day ON billing_lines (day);

-- Where each report's incremental pull stands: it resumes after the last complete day.
CREATE TABLE billing_sync (
    provider            TEXT NOT NULL,
    report              TEXT NOT NULL,
    complete_through    DATE,                       -- last day whose bucket had closed when pulled
    last_pulled_at      TIMESTAMPTZ,
    last_error          TEXT,                       -- never holds a key (see docs/reconcile.md)
    PRIMARY KEY (provider, report)
);
