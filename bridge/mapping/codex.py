"""OpenAI Codex CLI: `codex.sse_event` log records of kind `response.completed`.

Shapes from codex-rs/otel (`SessionTelemetry::sse_event_completed`, `see_event_completed_failed`)
and the `[otel]` section of Codex's docs/config.md, checked against what Codex CLI 0.171.0
actually exports:

- Codex logs through `tracing::event!` without a `name:`, and opentelemetry-appender-tracing
  copies the callsite name into the OTLP `LogRecord.event_name` field, so that field reads like
  `event otel/src/events/session_telemetry.rs:863`. The semantic name is the `event.name`
  *attribute*. Some collector pipelines copy the callsite name over that attribute too
  (openai/codex#42837), so a completion is also recognised by its instrumentation scope
  (`codex_otel.log_only`) or Codex service name, `event.kind=response.completed` and its counts.
- `time_unix_nano` is 0 on every record; the time is the `event.timestamp` attribute (RFC 3339),
  else `observed_time_unix_nano`. Trace and span ids are empty.

Counts follow the Responses API: input includes cached (and cache-write) input, output includes
reasoning. `input_token_count`, `output_token_count` and `tool_token_count` are formatted with
`%` and so arrive as strings; the optional counts as ints or absent. `tool_token_count` is
Codex's *total* (input + output), not a bucket, and is not read. A completion Codex could not
process carries `error.message` and no counts: a zero-token error row, as for the other
harnesses' failed calls. Every other `codex.*` event (api_request, tool decisions, other SSE
kinds, the per-turn `codex.turn_cost` estimate, which is not a model call) is ignored.
"""

from __future__ import annotations

from bridge.mapping.attributes import Attributes, text
from bridge.mapping.common import (
    count,
    log_call,
    log_hash_key,
    required_model,
    rfc3339_ns,
    short_hash,
)
from bridge.mapping.identity import identity
from bridge.mapping.providers import provider_for_model
from bridge.mapping.records import LogRecord, SpanRecord
from bridge.mapping.semconv import AGENT_NAMESPACE, has_usage
from bridge.model import (
    CostEstimation,
    Identity,
    ModelCall,
    Rejected,
    ReportedCost,
    Tokens,
    normalise_tokens,
)

SOURCE = "codex"
HARNESS = "codex"
PREFIX = "codex."
SCOPE_PREFIX = "codex_otel"  # `codex_otel.log_only` (logs) and `codex_otel.trace_safe`
SSE_EVENT = "codex.sse_event"
COMPLETED = "response.completed"
INPUT, OUTPUT = "input_token_count", "output_token_count"
CACHED, CACHE_WRITE, REASONING = "cached_token_count", "cache_write_token_count", "reasoning_token_count"
MAX_ERROR_CHARS = 300
HANDLE_RESPONSES = "handle_responses"
USAGE_NAMESPACE = "codex.usage."  # one of records.CLAIM_NAMESPACES


def semantic_name(record: LogRecord) -> str:
    """`codex.*` from the `event.name` attribute, else from the record's event_name field.

    The field normally holds the tracing callsite (`event otel/src/...rs:863`), never keyed on.
    """
    for name in (text(record.attrs, "event.name"), record.event_name):
        if name and name.startswith(PREFIX):
            return name
    return ""


def from_codex(record: LogRecord | SpanRecord) -> bool:
    """Codex's own instrumentation scope, or a Codex service name (`codex_exec`, `codex_cli_rs`)."""
    return record.scope_name.startswith(SCOPE_PREFIX) or record.service_harness == HARNESS


def claims_log(record: LogRecord) -> bool:
    """Every `codex.*` event and everything from Codex's scope or service (Codex logs nothing else)."""
    return bool(semantic_name(record)) or from_codex(record)


def is_completion(record: LogRecord) -> bool:
    """An SSE `response.completed` record: by its name, or, when a collector overwrote the name,
    by Codex's scope or service plus the completion's own content (kind and counts or error)."""
    if text(record.attrs, "event.kind") != COMPLETED:
        return False
    name = semantic_name(record)
    if name:
        return name == SSE_EVENT
    content = INPUT in record.attrs or OUTPUT in record.attrs or "error.message" in record.attrs
    return content and from_codex(record)


def claims_span(span: SpanRecord) -> bool:
    """Codex's `handle_responses` span repeats the completed usage (`gen_ai.usage.*`, `codex.usage.*`).

    Without `codex.usage.*` it is still recognised by Codex's scope or service *and* its own
    shape (the `handle_responses` name or its `from` field); GenAI or `agent.*` spans that
    merely run under a Codex service name are left to the conventions.
    """
    if USAGE_NAMESPACE in span.namespaces:
        return True
    if not from_codex(span) or not has_usage(span.attrs) or AGENT_NAMESPACE in span.namespaces:
        return False
    return span.name == HANDLE_RESPONSES or "from" in span.attrs


def map_span(span: SpanRecord) -> ModelCall | None:
    """Ignored: the log record of the same response is what we count; the span would count it twice."""
    return None


def estimation(attrs: Attributes) -> CostEstimation | None:
    """`auth_mode` says whether the call rides a ChatGPT plan or a metered API key."""
    mode = (text(attrs, "auth_mode") or "").lower().replace("_", "")
    if mode.startswith("chatgpt"):
        return "subscription"
    if mode == "apikey":
        return "metered"
    return None


def codex_identity(attrs: Attributes) -> Identity:
    """`[otel] environment` reaches the resource as `env`, not as deployment.environment."""
    ident = identity(attrs, default_harness=HARNESS)
    ident.environment = ident.environment or text(attrs, "env")
    return ident


def event_time_ns(record: LogRecord) -> int:
    """time_unix_nano (0 from Codex's appender), else `event.timestamp`, else the observed time."""
    return record.time_ns or rfc3339_ns(record.attrs.get("event.timestamp")) or record.observed_ns


def dedup_key(record: LogRecord, attrs: Attributes, model: str) -> str:
    """Codex sends no response id: conversation + event time + usage is stable across re-sends."""
    conversation = text(attrs, "conversation.id")
    if not conversation:
        return log_hash_key(record)
    when = text(attrs, "event.timestamp") or str(record.time_ns)
    usage = [text(attrs, key) for key in (INPUT, OUTPUT, CACHED, CACHE_WRITE, REASONING)]
    return f"codex:{conversation}:{short_hash(when, model, *usage)}"


def map_log(record: LogRecord) -> ModelCall | None:
    if not is_completion(record):
        return None
    if INPUT not in record.attrs and OUTPUT not in record.attrs:
        return _failed(record) if text(record.attrs, "error.message") else None
    attrs = record.merged()
    model = required_model(attrs, "codex.sse_event response.completed record", "model", "slug")
    tokens = normalise_tokens(
        input_reported=count(attrs, INPUT),
        output_reported=count(attrs, OUTPUT),
        cache_read=count(attrs, CACHED),
        cache_write=count(attrs, CACHE_WRITE),
        reasoning=count(attrs, REASONING),
        input_includes_cache=True,
    )
    return log_call(
        record,
        source=SOURCE,
        dedup_key=dedup_key(record, attrs, model),
        model=model,
        tokens=tokens,
        identity=codex_identity(attrs),
        provider=provider_for_model(model) or "openai",
        request_model=model,
        operation="chat",
        reported=ReportedCost(estimation=estimation(attrs)),
        ts_ns=event_time_ns(record),
    )


def _failed(record: LogRecord) -> ModelCall:
    """A completion Codex could not process: a zero-token error row, like Claude Code's and
    Gemini CLI's API errors — visible in error rates, costing nothing."""
    attrs = record.merged()
    model = text(attrs, "model", "slug")
    if not model:
        raise Rejected("codex.sse_event response.completed error record has no 'model' attribute")
    message = text(attrs, "error.message") or "error"
    return log_call(
        record,
        source=SOURCE,
        dedup_key=f"{dedup_key(record, attrs, model)}:error",
        model=model,
        tokens=Tokens(),
        identity=codex_identity(attrs),
        provider=provider_for_model(model) or "openai",
        request_model=model,
        operation="chat",
        reported=ReportedCost(estimation=estimation(attrs)),
        error=message[:MAX_ERROR_CHARS],
        ts_ns=event_time_ns(record),
    )
