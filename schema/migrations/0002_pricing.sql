-- Pricing diagnostics: which models the bridge could not put a list price on.
--
-- A model is listed while any of its calls has no computed price (list_cost_usd IS NULL):
-- neither the bundled genai-prices table nor the operator's overrides file knows it. Such
-- calls are stored with total_cost_usd NULL (never $0) unless the emitter reported a cost
-- or a subscription covers them, so `calls_without_cost` is what the dashboards miss. Add
-- the model to the overrides file, then run `agent-spend reprice` to price the history.

-- Keeps the view cheap on a large table: only the few unpriced rows are indexed.

-- Tables, indexes and data only: the functions, views, types, triggers and grants are
-- the files of schema/objects/, applied after every migration run (see docs/schema.md).

-- Keeps the view cheap on a large table: only the few unpriced rows are indexed.
CREATE INDEX agent_spend_logs_unpriced ON agent_spend_logs (model, provider) WHERE list_cost_usd IS NULL;
