"""Claude Code's native telemetry: `claude_code.api_request` / `api_error` events and beta spans.

Shapes follow Anthropic's monitoring reference (code.claude.com/docs/en/monitoring-usage) and
live captures: the log body is `claude_code.<event>`, `event.name` is the bare `<event>`, token
attributes are un-namespaced and `input_tokens` excludes the cache buckets. With
`CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1` the same request also arrives as a
`claude_code.llm_request` span, so log and span must share one dedup key.
"""

from __future__ import annotations

from bridge.mapping.attributes import Attributes, boolean, text
from bridge.mapping.common import (
    count,
    duration,
    log_call,
    log_hash_key,
    required_model,
    short_hash,
    span_call,
    span_key,
)
from bridge.mapping.identity import identity, reported_cost
from bridge.mapping.providers import normalise_provider, provider_for_model
from bridge.mapping.records import LogRecord, SpanRecord
from bridge.model import ModelCall, Rejected, Tokens, normalise_tokens

SOURCE = "claude-code"
HARNESS = "claude-code"
PREFIX = "claude_code."
BARE_EVENTS = frozenset({"api_request", "api_error"})
LLM_REQUEST_SPAN = "claude_code.llm_request"
# Claude Code's own variants (`claude-code-desktop`): still harness `claude-code`, so rollups and
# dashboards count desktop and CLI together; the variant is kept in the row's attributes.
SERVICE_ATTR = "service.name"
CANONICAL_SERVICES = frozenset({"claude-code", "claude_code"})
MAX_ERROR_CHARS = 300


def event_kind(record: LogRecord) -> str | None:
    """`api_request`, `api_error`, `tool_result`... whichever of body or event name says it.

    Bare event names are only trusted from a claude-code process, and never from an agent.*
    emitter that happens to run under that service name.
    """
    body = record.body if isinstance(record.body, str) else ""
    for name in (record.event_name, body):
        if name.startswith(PREFIX):
            return name.removeprefix(PREFIX)
    if (
        record.event_name in BARE_EVENTS
        and record.service_harness == HARNESS
        and "agent.event.kind" not in record.attrs
    ):
        return record.event_name
    return None


def claims_log(record: LogRecord) -> bool:
    return event_kind(record) is not None


def claims_span(span: SpanRecord) -> bool:
    return span.name.startswith(PREFIX)


def with_service_variant(call: ModelCall, resource: Attributes) -> ModelCall:
    """Keep a non-default `service.name` (e.g. `claude-code-desktop`) where a row can show it."""
    service = text(resource, SERVICE_ATTR)
    if service and service.strip().lower() not in CANONICAL_SERVICES and SERVICE_ATTR not in call.attributes:
        call.attributes[SERVICE_ATTR] = service
    return call


def tokens_of(attrs: Attributes) -> Tokens:
    """Claude Code reports the Anthropic usage block as is: input excludes both cache buckets."""
    return normalise_tokens(
        input_reported=count(attrs, "input_tokens"),
        output_reported=count(attrs, "output_tokens"),
        cache_read=count(attrs, "cache_read_tokens"),
        cache_write=count(attrs, "cache_creation_tokens"),
        input_includes_cache=False,
    )


def call_key(attrs: Attributes, model: str, tokens: Tokens) -> str | None:
    """The same request seen as an `api_request` event and as an `llm_request` span.

    Anthropic's `request_id` is on both when the API is Anthropic's own. Bedrock, Vertex and
    gateways give no request id, so both signals fall back to the usage fingerprint within the
    session, which is the same numbers on both (cache reads grow call over call, so two distinct
    calls of one session with identical four buckets are not expected in practice).
    """
    request_id = text(attrs, "request_id")
    if request_id:
        return f"claude-code:req:{request_id}"
    session = text(attrs, "session.id")
    if session:
        usage = (model, tokens.input, tokens.output, tokens.cache_read, tokens.cache_write)
        return f"claude-code:{session}:{short_hash(*usage)}"
    return None


def provider_of(attrs: Attributes, model: str) -> str | None:
    """The model id is more specific than `gen_ai.system`, which is `anthropic` even on Bedrock."""
    return provider_for_model(model) or normalise_provider(text(attrs, "gen_ai.system")) or "anthropic"


def map_log(record: LogRecord) -> ModelCall | None:
    kind = event_kind(record)
    if kind == "api_request":
        return _api_request(record)
    if kind == "api_error":
        return _api_error(record)
    return None


def _api_request(record: LogRecord) -> ModelCall:
    attrs = record.merged()
    model = required_model(attrs, "claude_code.api_request record", "model")
    tokens = tokens_of(attrs)
    call = log_call(
        record,
        source=SOURCE,
        dedup_key=call_key(attrs, model, tokens) or log_hash_key(record),
        model=model,
        tokens=tokens,
        identity=identity(attrs, default_harness=HARNESS),
        provider=provider_of(attrs, model),
        duration_ms=duration(attrs, "duration_ms"),
        request_model=model,
        operation="chat",
        reported=reported_cost(attrs, "cost_usd", micros_key="cost_usd_micros"),
        event_id=text(attrs, "request_id"),
    )
    return with_service_variant(call, record.resource)


def _api_error(record: LogRecord) -> ModelCall:
    """A failed attempt is kept as a zero-token error row: it costs nothing but shows in error rates."""
    attrs = record.merged()
    model = text(attrs, "model")
    if not model:
        raise Rejected("claude_code.api_error record has no 'model' attribute")
    message = text(attrs, "error", "error.message") or f"HTTP {text(attrs, 'status_code') or 'error'}"
    session, sequence = text(attrs, "session.id"), text(attrs, "event.sequence")
    key = f"claude-code:error:{session}:{sequence}" if session and sequence else log_hash_key(record)
    call = log_call(
        record,
        source=SOURCE,
        dedup_key=key,
        model=model,
        tokens=Tokens(),
        identity=identity(attrs, default_harness=HARNESS),
        provider=provider_of(attrs, model),
        duration_ms=duration(attrs, "duration_ms"),
        request_model=model,
        operation="chat",
        error=message[:MAX_ERROR_CHARS],
        event_id=text(attrs, "request_id"),
    )
    return with_service_variant(call, record.resource)


def map_span(span: SpanRecord) -> ModelCall | None:
    """Only `llm_request` is a model call; interaction and tool spans only frame it.

    A failed request with no usage is left to the `api_error` events, which Claude Code
    writes per attempt; counting the span too would report the failure twice.
    """
    if span.name != LLM_REQUEST_SPAN:
        return None
    attrs = span.merged()
    tokens = tokens_of(attrs)
    success = boolean(span.attrs, "success")
    if success is False and tokens.total == 0:
        return None
    model = required_model(attrs, "claude_code.llm_request span", "model", "gen_ai.request.model")
    error = (text(attrs, "error") or "error")[:MAX_ERROR_CHARS] if success is False else None
    call = span_call(
        span,
        source=SOURCE,
        dedup_key=call_key(attrs, model, tokens) or span_key(span),
        model=model,
        tokens=tokens,
        identity=identity(attrs, default_harness=HARNESS),
        provider=provider_of(attrs, model),
        request_model=text(attrs, "gen_ai.request.model") or model,
        operation="chat",
        reported=reported_cost(attrs, "cost_usd", micros_key="cost_usd_micros"),
        error=error,
        stop_reason=text(attrs, "stop_reason"),
        finish=attrs.get("gen_ai.response.finish_reasons"),
        event_id=text(attrs, "request_id"),
    )
    return with_service_variant(call, span.resource)
