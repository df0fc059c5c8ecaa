-- 0010: budgets (issue 11; docs/budgets.md). A budget is a name (its stable key) with a
-- scope (the org, a team, a user or a repository), a period (UTC calendar month, ISO week,
-- UTC day), an amount and alert thresholds. Each change closes the current version
-- (valid_to) and inserts a new one, so a past period is judged against the version that
-- applied at its end; `budget rm` closes the current version. Replaces
-- teams.monthly_budget_usd, whose values become team/month budgets valid since -infinity.

-- Tables, indexes and data only: the functions, views, types, triggers and grants are
-- the files of schema/objects/, applied after every migration run (see docs/schema.md).

CREATE TABLE budgets (
    budget_id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT NOT NULL CHECK (name <> ''),
    scope_kind      TEXT NOT NULL CHECK (scope_kind IN ('org', 'team', 'user', 'repository')),
    scope           TEXT NOT NULL,       -- '' for the org; the team, user_id or repository
    period          TEXT NOT NULL CHECK (period IN ('month', 'week', 'day')),
    amount_usd      NUMERIC(14, 2) NOT NULL CHECK (amount_usd > 0),
    thresholds      NUMERIC[] NOT NULL DEFAULT '{50,80,100}',   -- percent of amount_usd
    warn_projected  BOOLEAN NOT NULL DEFAULT true,
    valid_from      TIMESTAMPTZ NOT NULL,
    valid_to        TIMESTAMPTZ,         -- NULL: the current version
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((scope_kind = 'org') = (scope = '')),
    CHECK (cardinality(thresholds) > 0 AND array_position(thresholds, NULL) IS NULL
           AND 0 < ALL (thresholds)),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

-- At most one current version per name.
CREATE UNIQUE INDEX budgets_current_name ON budgets (name) WHERE valid_to IS NULL;
CREATE INDEX budgets_name_valid_from ON budgets (name, valid_from);

INSERT INTO budgets (name, scope_kind, scope, period, amount_usd, valid_from)
SELECT 'team:' || team || ':month', 'team', team, 'month', monthly_budget_usd, '-infinity'
FROM teams
WHERE monthly_budget_usd > 0
ORDER BY team;

DROP VIEW IF EXISTS team_budget_status;
DROP FUNCTION IF EXISTS team_budget_status_at(timestamptz);
ALTER TABLE teams DROP COLUMN monthly_budget_usd;
