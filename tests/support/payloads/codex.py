"""Codex CLI payloads as Codex CLI 0.171.0 exports them (issue 10), plus the attribute sets.

Wire shape of every log record (opentelemetry-appender-tracing under `tracing::event!`):
- `LogRecord.event_name` is the tracing callsite (`event otel/src/events/session_telemetry.rs:863`,
  path and line change between releases); the semantic name is the `event.name` attribute;
- `time_unix_nano` is 0; `observed_time_unix_nano` and the `event.timestamp` attribute are set;
- trace and span ids are empty; scope `codex_otel.log_only`; resource `service.name=codex_exec`
  for `codex exec` (`codex_cli_rs` interactively);
- `input_token_count`, `output_token_count`, `tool_token_count` are strings (`%` formatting);
  `cached_token_count`, `reasoning_token_count` ints or absent; newer builds add
  `cache_write_token_count`. `tool_token_count` is Codex's total, input + output.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from tests.support.adapters import log, logs
from tests.support.otlp import NOW_NS, json_log, json_logs

RESOURCE = {"service.name": "codex_cli_rs", "service.version": "0.46.0", "env": "dev"}
EXEC_RESOURCE = {"service.name": "codex_exec", "service.version": "0.171.0", "env": "dev"}
SCOPE = "codex_otel.log_only"
CALLSITE = "event otel/src/events/session_telemetry.rs:863"
# `event.timestamp` of COMPLETED, as ns: the call's time, since time_unix_nano is 0.
EVENT_NS = NOW_NS + 123_000_000
# The SDK stamps the observed time when the record is emitted, a little after event.timestamp.
OBSERVED_NS = NOW_NS + 5_000_000_000

METADATA = {
    "event.timestamp": "2026-01-02T10:00:00.123Z",
    "conversation.id": "0199a213-81c0-7800-8aa1-bbab2a035a53",
    "app.version": "0.46.0",
    "auth_mode": "chatgpt",
    "user.account_id": "acct_123",
    "user.email": "cy@example.com",
    "terminal.type": "iTerm.app/3.6.1",
    "model": "gpt-5-codex",
    "slug": "gpt-5-codex",
}
COMPLETED = {
    **METADATA,
    "event.name": "codex.sse_event",
    "event.kind": "response.completed",
    "input_token_count": "12000",  # includes the 9000 cached
    "output_token_count": "800",  # includes the 300 reasoning
    "cached_token_count": 9000,
    "reasoning_token_count": 300,
    "tool_token_count": "12800",  # Codex's total, not a bucket
}

# The corpus: one record per shape seen on the wire.
CORPUS: dict[str, dict[str, Any]] = {
    "completed": COMPLETED,
    # No cache hit: Codex leaves cached_token_count (and reasoning) out.
    "completed_without_cached": {
        k: v for k, v in COMPLETED.items() if k not in ("cached_token_count", "reasoning_token_count")
    }
    | {
        "event.timestamp": "2026-01-02T10:00:03.500Z",
        "input_token_count": "4000",
        "output_token_count": "90",
    },
    # Newer builds: a cache-write count, included in input like the cached count.
    "completed_with_cache_write": COMPLETED
    | {"event.timestamp": "2026-01-02T10:00:09.000Z", "cache_write_token_count": 1000},
    # A collector copied the callsite name over the event.name attribute (openai/codex#42837).
    "completed_name_overwritten": COMPLETED | {"event.name": CALLSITE},
    # A completion Codex could not process: same name and kind, an error and no counts.
    "completed_failed": {
        **METADATA,
        "event.timestamp": "2026-01-02T10:00:12.000Z",
        "event.name": "codex.sse_event",
        "event.kind": "response.completed",
        "error.message": "failed to parse response.completed: missing field `usage`",
    },
    "api_request": {**METADATA, "event.name": "codex.api_request", "attempt": 1, "duration_ms": "912"},
    "response_created": {**METADATA, "event.name": "codex.sse_event", "event.kind": "response.created"},
    "tool_decision": {
        **METADATA,
        "event.name": "codex.tool_decision",
        "tool_name": "shell",
        "decision": "approved",
    },
    # Per-turn estimate (ChatGPT sign-in only, minutes late): not a model call.
    "turn_cost": {**METADATA, "event.name": "codex.turn_cost", "usage.estimated_usd": 0.0123},
}

# The `handle_responses` span of the same response (renamed `completed` by Codex): usage again.
HANDLE_RESPONSES_SPAN = {
    "gen_ai.usage.input_tokens": 12000,
    "gen_ai.usage.cache_read.input_tokens": 9000,
    "gen_ai.usage.output_tokens": 800,
    "codex.usage.reasoning_output_tokens": 300,
    "codex.usage.total_tokens": 12800,
    "from": "completed",
}


def codex_logs(
    *records: dict[str, Any], resource: dict[str, Any] = EXEC_RESOURCE, scope: str = SCOPE
) -> ExportLogsServiceRequest:
    """Protobuf logs as Codex exports them: callsite event_name, no time, observed time, no ids."""
    wire = [log(attrs, time_ns=0, observed_ns=OBSERVED_NS, event_name=CALLSITE) for attrs in records]
    return logs(resource, wire, scope=scope)


def codex_json_logs(*records: dict[str, Any], resource: dict[str, Any] = EXEC_RESOURCE) -> dict[str, Any]:
    """The same as OTLP/JSON (`[otel] exporter = { otlp-http = { protocol = "json" } }`)."""
    wire = [json_log(attrs, time_ns=0, observed_ns=OBSERVED_NS, event_name=CALLSITE) for attrs in records]
    return json_logs(resource, wire, scope=SCOPE)
