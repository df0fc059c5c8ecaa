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
# At most this many OTLP/HTTP bodies are read and decoded at once; a request waits this long
# for a slot before it gets "busy".
HTTP_MAX_CONCURRENT_EXPORTS = 32
HTTP_SLOT_WAIT_SECONDS = 10
HTTP_KEEPALIVE_SECONDS = 120
# A refused request's unread body up to this size is read and dropped to keep the connection.
HTTP_DRAIN_MAX_BYTES = MIB
# An oversized body up to this size is read and thrown away so the client sees the answer.
HTTP_DISCARD_MAX_BYTES = 256 * MIB

# Retryable refusals tell the exporter to come back after this many seconds (Retry-After).
RETRY_AFTER_SECONDS = 5

# The write path: rows queued before new requests are refused as overloaded, rows per
# committed batch, and how long a request (and shutdown) waits for its rows to be committed.
MAX_QUEUE_ROWS = 200_000
MAX_BATCH_ROWS = 10_000
WRITE_TIMEOUT_SECONDS = 30.0
# How often the user→team directory is re-read.
TEAMS_REFRESH_SECONDS = 30.0

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
