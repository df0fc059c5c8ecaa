"""Every default of the bridge, once: ports, limits, timeouts, batch sizes and thresholds.

The CLI's option defaults, `ServeOptions`, the writer, the ingestor, the receivers, the seeder
and the benches read their defaults from here, so a default changes in one place.
"""

from __future__ import annotations

MIB = 1024 * 1024

# Listening addresses (OTLP's well-known ports).
HOST = "127.0.0.1"
GRPC_PORT = 4317
HTTP_PORT = 4318

# Requests: the largest body accepted (after decompression) and the gRPC answer size.
MAX_BODY_MIB = 64
MAX_BODY_BYTES = MAX_BODY_MIB * MIB
GRPC_MAX_SEND_BYTES = 4 * MIB
GRPC_WORKERS = 16
# OTLP/HTTP (cheroot): a fixed pool of handler threads (a connection holds one only while a
# request is being read or answered; idle keep-alive connections wait in a selector), at most
# HTTP_MAX_CONNECTIONS idle keep-alive connections kept, a listen backlog for bursts, and
# socket timeouts: a connection silent for HTTP_IDLE_SECONDS (between requests, or mid-read)
# is closed, and a body not complete within HTTP_BODY_TIMEOUT_SECONDS is dropped (408, closed).
HTTP_THREADS = 64
# CPython's cyclic garbage collector runs a young-generation pass every GC_YOUNG_OBJECTS
# container allocations (700 by default). The ingest path allocates dicts, lists and tuples
# by the thousand per export and frees nearly all of them by reference counting, so the
# default spends ~10 % of the bridge's CPU (perf) walking objects that are not garbage;
# 10,000: 3-5 % less bridge CPU per call in paired runs (docs/scale.md).
GC_YOUNG_OBJECTS = 10_000
HTTP_MAX_CONNECTIONS = 1000
HTTP_LISTEN_BACKLOG = 1024
HTTP_IDLE_SECONDS = 30
HTTP_BODY_TIMEOUT_SECONDS = 30.0
# The TLS handshake runs on cheroot's accept loop: bound how long one client may stall it.
HTTP_TLS_HANDSHAKE_SECONDS = 5.0
# A refused request's unread body up to this size is read and dropped to keep the connection
# (so a client still sending sees the 401/404/415, not a reset); beyond it the connection closes.
HTTP_DRAIN_MAX_BYTES = 4 * MIB
# Memory: decoded request bytes in flight across both transports (--max-inflight-mib). A body
# is reserved once it is complete (gzip: compressed size x the factor below, then the real
# size), released when its rows are committed; beyond the budget a request waits up to
# INFLIGHT_WAIT_SECONDS, then gets a retryable 503 / UNAVAILABLE.
MAX_INFLIGHT_MIB = 256
GZIP_ESTIMATE_FACTOR = 10
INFLIGHT_WAIT_SECONDS = 5.0
# An export with more records than this is ingested (and committed) in chunks of this many,
# and answered once every chunk is committed; never more than --max-queue-rows per chunk.
INGEST_CHUNK_RECORDS = 10_000
# OTLP/JSON bodies nested deeper than this are refused with 400.
JSON_MAX_DEPTH = 64
# An oversized body up to this size is read and thrown away so the client sees the answer.
HTTP_DISCARD_MAX_BYTES = 256 * MIB

# Retryable refusals tell the exporter to come back after this many seconds (Retry-After).
RETRY_AFTER_SECONDS = 5

# The write path: rows queued before new requests are refused as overloaded, rows per
# committed batch, and how long a request (and shutdown) waits for its rows to be committed.
MAX_QUEUE_ROWS = 200_000
MAX_BATCH_ROWS = 10_000
WRITE_TIMEOUT_SECONDS = 30.0
# A batch PostgreSQL aborted to break a deadlock or serialization conflict with another
# writer (bridges and workers share one database) is run again this many times.
WRITE_CONFLICT_RETRIES = 3
# Trace context (docs/sources.md): how long a span's identity waits for its descendants, and
# a call for its ancestors. Parents are exported when they end: an agent turn's
# invoke_agent after its last chat span, minutes later, not hours.
TRACE_CONTEXT_WINDOW_SECONDS = 2 * 3600
# How often the writer prunes trace context older than the window and re-completes the
# traces whose context arrived lately (another bridge's commit may have raced this one's).
TRACE_CONTEXT_MAINTENANCE_SECONDS = 60.0
# How often the user→team directory is re-read.
TEAMS_REFRESH_SECONDS = 30.0

# Edge validation (bridge/mapping/validate.py): what a model call may hold so the database can
# never refuse it. Indexed text (identity, model, session, repository, ids, dedup key) is capped
# far below PostgreSQL's btree row limit (~2.7 KB: 512 characters are at most 2 KB of UTF-8);
# unindexed free text (cwd, error, finish reasons) has a looser cap. Token buckets and dollar
# amounts must fit BIGINT and NUMERIC(20, 10) with room to spare.
MAX_NAME_CHARS = 512
# The dashboards' "All" value of a filter variable (dashboards/grafana.py, and the SQL helper
# spend_dim_match in schema/objects/20_helpers/020_spend_dim_match.sql): reserved, so no stored
# team, user, model, harness, repository or environment can be mistaken for "everything".
ALL_SENTINEL = "__all"
MAX_ID_CHARS = 256
MAX_DEDUP_KEY_CHARS = 512
MAX_TEXT_CHARS = 8192
MAX_TOKENS_PER_CALL = 50_000_000  # one token attribute of one call
MAX_TOKENS_PER_BUCKET = 1_000_000_000  # one normalised bucket (may sum several attributes)
MAX_COST_USD = 1_000_000  # one call's reported or computed cost, per bucket and in total

# A later copy of a stored call may complete its missing reported cost only when it is the
# same call (source, user, team, model, token buckets) and the cost is plausible: at most
# REPORTED_COST_MAX_FACTOR x the list cost + REPORTED_COST_SLACK_USD, or, for a model without
# a list price, below REPORTED_COST_UNPRICED_MAX_USD.
REPORTED_COST_MAX_FACTOR = 100
REPORTED_COST_SLACK_USD = 1
REPORTED_COST_UNPRICED_MAX_USD = 100

# Pricing: prompts (input + cache read + cache write) above this many tokens are priced at the
# long-context tier. The SQL side reads the same number from one function,
# spend_long_context_threshold() (schema/objects/20_helpers/005_spend_long_context_threshold.sql);
# tests/test_schema_layout.py keeps the two equal.
LONG_CONTEXT_THRESHOLD = 200_000

# Admin batch sizes: rows re-priced per statement, rows deleted per retention transaction.
REPRICE_BATCH_ROWS = 10_000
RETENTION_BATCH_ROWS = 50_000

# The local lab without Docker.
LAB_PG_PORT = 55432
LAB_GRAFANA_PORT = 3000
DATABASE_NAME = "agent_spend"

# The seeder: HTTP/gRPC timeout per export, and the defaults of `agent-spend seed`.
SEED_TIMEOUT_SECONDS = 30.0
SEED_DAYS = 7
SEED_USERS = 10
SEED_RANDOM_SEED = 42

# `agent-spend reconcile pull` (docs/reconcile.md): per-request timeout, tries per request
# (the first included) and the first wait without Retry-After (doubling), the longest single
# wait whatever Retry-After says, days re-pulled before the last complete one (late
# corrections), and how far back a first run starts.
RECONCILE_TIMEOUT_SECONDS = 30.0
RECONCILE_RETRY_ATTEMPTS = 5
RECONCILE_BACKOFF_SECONDS = 1.0
RECONCILE_MAX_WAIT_SECONDS = 120.0
RECONCILE_OVERLAP_DAYS = 2
RECONCILE_FIRST_RUN_DAYS = 30

# Alerts (docs/alerts.md). The thresholds are the SQL defaults of the alert functions in
# schema/objects/60_alerts/ (tests/test_alerts_rules.py keeps the two equal): runaway session =
# cost per hour over the last window above MULTIPLE x the developer's typical hourly rate
# (over BASELINE_DAYS) or above CAP, never below MIN; anomaly = today's spend above FACTOR x
# the trailing daily average over DAYS, at least MIN_USD; silent telemetry = reported every
# one of WORKING_DAYS working days, then quiet for QUIET_WORKING_DAYS; unpriced models over
# WINDOW_DAYS; reconciliation dollar coverage below MIN_RATIO over the last DAYS.
# Budgets (docs/budgets.md): the thresholds, in percent, a budget alerts at unless set; the
# column default of budgets.thresholds (tests/test_budgets.py keeps the two equal).
BUDGET_DEFAULT_THRESHOLDS_PERCENT = (50, 80, 100)

ALERT_RUNAWAY_MULTIPLE = 5
ALERT_RUNAWAY_CAP_USD_PER_HOUR = 50
ALERT_RUNAWAY_MIN_USD_PER_HOUR = 10
ALERT_RUNAWAY_WINDOW_HOURS = 1
ALERT_RUNAWAY_BASELINE_DAYS = 14
ALERT_ANOMALY_FACTOR = 2
ALERT_ANOMALY_MIN_USD = 20
ALERT_ANOMALY_DAYS = 14
ALERT_SILENT_WORKING_DAYS = 10
ALERT_SILENT_QUIET_WORKING_DAYS = 1
ALERT_SILENT_LOOKBACK_DAYS = 42
ALERT_UNPRICED_WINDOW_DAYS = 7
ALERT_UNPRICED_MIN_CALLS = 1
ALERT_COVERAGE_MIN_RATIO = 0.9
ALERT_COVERAGE_DAYS = 7
ALERT_COVERAGE_MIN_BILLED_USD = 1
# `agent-spend alerts run`: seconds between runs with --loop; per webhook request a timeout,
# tries per run (the first included) and the first wait between them (doubling, Retry-After
# honoured up to MAX_WAIT); a notice that failed a whole run waits ROUND_BACKOFF x 2^(n-1)
# (at most ROUND_BACKOFF_MAX) before the next run retries it, and is given up ('failed',
# reported by `alerts list`) after MAX_ROUNDS runs; a claim (lease) lasts LEASE seconds, after
# which a crashed runner's notice is sent again (at least once: see docs/alerts.md).
ALERT_LOOP_INTERVAL_SECONDS = 60.0
ALERT_TIMEOUT_SECONDS = 10.0
ALERT_RETRY_ATTEMPTS = 3
ALERT_BACKOFF_SECONDS = 1.0
ALERT_MAX_WAIT_SECONDS = 30.0
ALERT_ROUND_BACKOFF_SECONDS = 60.0
ALERT_ROUND_BACKOFF_MAX_SECONDS = 3600.0
ALERT_MAX_ROUNDS = 50
ALERT_LEASE_SECONDS = 300.0
# What Grafana's provisioned contact point uses when its variable is unset (compose and the
# local lab): addresses that go nowhere, so provisioning is valid and nothing leaves the host.
ALERT_GRAFANA_DEFAULTS = {
    "AGENT_SPEND_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/agent-spend-alerts",
    "AGENT_SPEND_ALERT_SLACK_URL": "http://127.0.0.1:9/agent-spend-slack",
    "AGENT_SPEND_ALERT_EMAIL": "agent-spend-alerts@example.invalid",
}

# `agent-spend api` (docs/api.md): the read-only JSON API, off unless started, loopback by
# default; handler threads (also the most idle database connections kept), the statement
# timeout of its read-only connections, and the longest range a request may ask for.
API_HOST = HOST
API_PORT = 8081
API_THREADS = 8
API_STATEMENT_TIMEOUT_SECONDS = 10
API_IDLE_SECONDS = 30
API_MAX_DAYS = 3660
# A budget's projected overrun alerts only once this share of its period has passed.
ALERT_BUDGET_MIN_ELAPSED_RATIO = 0.2

# `serve --workers N` (bridge/workers.py): how long a worker may take to report its listeners
# ready, how often the supervisor looks at its workers, how many crashed workers it restarts
# within a window before it stops the whole bridge (exit 1), and how long the workers may take
# to drain on SIGTERM before they are killed (each drains like a single bridge: up to
# WRITE_TIMEOUT_SECONDS for gRPC, the HTTP handlers and the writer each).
WORKER_START_TIMEOUT_SECONDS = 60.0
WORKER_POLL_SECONDS = 0.5
WORKER_RESTART_LIMIT = 5
WORKER_RESTART_WINDOW_SECONDS = 60.0
WORKER_DRAIN_SECONDS = 3 * WRITE_TIMEOUT_SECONDS + 15
