-- 0011: alert state and deliveries (issue 11; docs/alerts.md).
--
-- The alert kinds are SQL functions (schema/objects/60_alerts/) returning the rows that
-- should alert now. `agent-spend alerts run` diffs them against alert_state: a key
-- (kind, subject, period_key) fires once, resolves once when it stops firing, and never
-- fires again in the same period. Every notice to every destination is one row of
-- alert_deliveries, claimed (status 'sending', a lease) and committed before it is sent,
-- so two runners never send the same notice and a crashed sender's claim is retried once
-- its lease has expired.

-- Tables, indexes and data only: the functions, views, types, triggers and grants are
-- the files of schema/objects/, applied after every migration run (see docs/schema.md).

CREATE TABLE alert_state (
    kind            TEXT NOT NULL,          -- 'runaway_session', 'anomaly', ... (docs/alerts.md)
    subject         TEXT NOT NULL,          -- what alerts: a session, 'user:ana@x', a budget name
    period_key      TEXT NOT NULL,          -- the period it alerts for: a day, a session start
    severity        TEXT NOT NULL,
    summary         TEXT NOT NULL,          -- as of the last evaluation that saw it firing
    value           NUMERIC,
    threshold       NUMERIC,
    details         JSONB NOT NULL DEFAULT '{}'::jsonb,
    fired_at        TIMESTAMPTZ NOT NULL,   -- the evaluation time that first saw it firing
    last_seen_at    TIMESTAMPTZ NOT NULL,   -- the last evaluation that saw it firing
    resolved_at     TIMESTAMPTZ,            -- the first evaluation that no longer saw it; final
    PRIMARY KEY (kind, subject, period_key)
);

-- The open alerts, compared with every evaluation.
CREATE INDEX alert_state_open ON alert_state (kind) WHERE resolved_at IS NULL;

-- One notice (firing / resolved) of one alert to one destination. `destination` is an id
-- ('stdout', or the kind and a sha256 prefix of a webhook URL: URLs are secrets and are
-- never stored); `label` is what reports show (the URL's host).
CREATE TABLE alert_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    period_key      TEXT NOT NULL,
    event           TEXT NOT NULL CHECK (event IN ('firing', 'resolved')),
    destination     TEXT NOT NULL,
    label           TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,   -- pending: not before (backoff between runs)
    lease_until     TIMESTAMPTZ,            -- sending: claimed until; after it, claimable again
    lease_owner     TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,   -- HTTP tries in all
    rounds          INTEGER NOT NULL DEFAULT 0,   -- claims (runs) that tried it
    last_error      TEXT,                   -- never holds the URL
    sent_at         TIMESTAMPTZ,
    UNIQUE (kind, subject, period_key, event, destination),
    FOREIGN KEY (kind, subject, period_key) REFERENCES alert_state ON DELETE CASCADE
);

-- What a runner may claim: due pending notices and expired leases.
CREATE INDEX alert_deliveries_due ON alert_deliveries (destination, next_attempt_at)
    WHERE status IN ('pending', 'sending');
