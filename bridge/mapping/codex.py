"""OpenAI Codex CLI: `codex.sse_event` log records of kind `response.completed`.

Shapes from codex-rs/otel (`SessionTelemetry::sse_event_completed` and the `log_event!` macro)
and the `[otel]` section of Codex's docs/config.md. Counts follow the Responses API: input
includes cached input, output includes reasoning. `input_token_count`, `output_token_count` and
`tool_token_count` are formatted with `%` and so arrive as strings; the optional counts as ints.
Every other `codex.*` event (api_request, tool decisions, other SSE kinds) is not a model call.
"""

from __future__ import annotations

from bridge.mapping.attributes import Attributes, text
from bridge.mapping.common import count, log_call, log_hash_key, required_model, short_hash
from bridge.mapping.identity import identity
from bridge.mapping.providers import provider_for_model
from bridge.mapping.records import LogRecord, SpanRecord
from bridge.model import CostEstimation, Identity, ModelCall, ReportedCost, normalise_tokens

SOURCE = "codex"
HARNESS = "codex"
PREFIX = "codex."
SSE_EVENT = "codex.sse_event"
COMPLETED = "response.completed"
INPUT, OUTPUT = "input_token_count", "output_token_count"
CACHED, CACHE_WRITE, REASONING = "cached_token_count", "cache_write_token_count", "reasoning_token_count"


def claims_log(record: LogRecord) -> bool:
    return record.event_name.startswith(PREFIX)


def claims_span(span: SpanRecord) -> bool:
    """Codex's `handle_responses` span repeats the completed usage under `codex.usage.*`."""
    return any(key.startswith("codex.usage.") for key in span.attrs)


def map_span(span: SpanRecord) -> ModelCall | None:
    """Ignored: it names no model and no id shared with the log record, which is what we count."""
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


def dedup_key(record: LogRecord, attrs: Attributes, model: str) -> str:
    """Codex sends no response id: conversation + event time + usage is stable across re-sends."""
    conversation = text(attrs, "conversation.id")
    if not conversation:
        return log_hash_key(record)
    when = text(attrs, "event.timestamp") or str(record.time_ns)
    usage = [text(attrs, key) for key in (INPUT, OUTPUT, CACHED, CACHE_WRITE, REASONING)]
    return f"codex:{conversation}:{short_hash(when, model, *usage)}"


def map_log(record: LogRecord) -> ModelCall | None:
    if record.event_name != SSE_EVENT or text(record.attrs, "event.kind") != COMPLETED:
        return None
    if INPUT not in record.attrs and OUTPUT not in record.attrs:
        return None  # a completed event Codex failed to parse carries an error and no counts
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
    )
