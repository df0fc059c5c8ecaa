"""OpenTelemetry GenAI semantic conventions plus the `agent.*` extension namespace.

The fallback adapter: any span that carries `gen_ai.*` usage and is not claimed by a
more specific harness adapter is mapped here. Thin adapters for emitters that follow the
conventions (OpenLIT, Copilot) reuse `map_genai_span` with their own source label.
"""

from __future__ import annotations

from bridge.mapping.attributes import Attributes, text, texts
from bridge.mapping.common import RESPONSE_ID_KEYS, counts, response_key, span_call, span_key
from bridge.mapping.identity import identity, reported_cost
from bridge.mapping.providers import normalise_provider, provider_for_model
from bridge.mapping.records import LogRecord, SpanRecord
from bridge.model import ModelCall, Rejected, Tokens, normalise_tokens

SOURCE = "otel-genai"

# Operations that describe agents, tools and hooks, not a billed model call. Agent spans
# repeat the usage of their children; counting them would double the bill.
NOT_MODEL_CALLS = frozenset(
    {"invoke_agent", "create_agent", "execute_tool", "invoke_workflow", "execute_hook"}
)

# Current names first; deprecated (`prompt_tokens`) and library spellings after.
INPUT_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
CACHE_READ_KEYS = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.cache_read_tokens",
)
CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_write.input_tokens",  # the spelling on semconv main
    "gen_ai.usage.cache_creation.input_tokens",  # the released spelling
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.cache_write_input_tokens",
    "gen_ai.usage.cache_write_tokens",
)
REASONING_KEYS = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
CACHE_WRITE_1H_KEYS = ("agent.usage.cache_write_1h.input_tokens",)
USAGE_KEYS = INPUT_KEYS + OUTPUT_KEYS
EVENT_ID_KEYS = ("agent.event.id", "event.id")


AGENT_NAMESPACE = "agent."  # one of records.CLAIM_NAMESPACES


def has_usage(attrs: Attributes) -> bool:
    return any(map(attrs.__contains__, USAGE_KEYS))


def uses_agent_extension(record: SpanRecord | LogRecord) -> bool:
    """The agent.* emitters report input *excluding* cache, unlike the GenAI conventions."""
    return AGENT_NAMESPACE in record.namespaces


def is_model_call(span: SpanRecord) -> bool:
    operation = text(span.attrs, "gen_ai.operation.name")
    if operation in NOT_MODEL_CALLS:
        return False
    kind = text(span.attrs, "agent.event.kind")
    if kind is not None and kind != "model_call":
        return False
    return has_usage(span.attrs)


TOKEN_TABLE = (
    INPUT_KEYS,
    OUTPUT_KEYS,
    CACHE_READ_KEYS,
    CACHE_WRITE_KEYS,
    REASONING_KEYS,
    CACHE_WRITE_1H_KEYS,
)


def genai_tokens(attrs: Attributes, *, exclusive: bool) -> Tokens:
    input_reported, output_reported, cache_read, cache_write, reasoning, one_hour = counts(attrs, TOKEN_TABLE)
    return normalise_tokens(
        input_reported=input_reported,
        output_reported=output_reported,
        cache_read=cache_read,
        cache_write=cache_write,
        reasoning=reasoning,
        input_includes_cache=not exclusive,
        cache_write_1h=one_hour,
    )


def genai_dedup_key(record_attrs: Attributes, fallback: str) -> str:
    """Provider response id, then the emitter's own event id, then the signal's identity."""
    event_id = text(record_attrs, *EVENT_ID_KEYS)
    return response_key(record_attrs) or (f"event:{event_id}" if event_id else fallback)


def claims(span: SpanRecord) -> bool:
    """The fallback adapter looks at every span no specific adapter claimed."""
    return True


# What map_genai_span reads, in one pass each: from the merged attributes, and from the span's own
# (the dedup key and event id are the span's, never the resource's: genai_dedup_key's rule).
_CALL_TABLE = (
    ("gen_ai.request.model",),
    ("gen_ai.response.model",),
    ("gen_ai.provider.name", "gen_ai.system"),
    ("agent.api.dialect",),
    ("gen_ai.operation.name",),
    ("agent.stop_reason",),
)
_SPAN_TABLE = (EVENT_ID_KEYS, RESPONSE_ID_KEYS)


def map_genai_span(
    span: SpanRecord,
    *,
    source: str = SOURCE,
    default_harness: str | None = None,
    user_fallback: tuple[str, ...] = (),
    session_fallback: tuple[str, ...] = (),
) -> ModelCall | None:
    if not is_model_call(span):
        return None
    attrs = span.merged()
    request_model, response_model, provider_name, api_dialect, operation, stop_reason = texts(
        attrs, _CALL_TABLE
    )
    model = response_model or request_model
    if not model:
        raise Rejected("span has gen_ai usage but no gen_ai.request.model or gen_ai.response.model")
    provider = normalise_provider(provider_name)
    event_id, response_id = texts(span.attrs, _SPAN_TABLE)
    return span_call(
        span,
        source=source,
        dedup_key=f"resp:{response_id}"
        if response_id
        else (f"event:{event_id}" if event_id else span_key(span)),
        model=model,
        tokens=genai_tokens(attrs, exclusive=uses_agent_extension(span)),
        identity=identity(
            attrs,
            default_harness=default_harness,
            user_fallback=user_fallback,
            session_fallback=session_fallback,
        ),
        provider=provider or provider_for_model(model),
        request_model=request_model,
        response_model=response_model,
        api_dialect=api_dialect,
        operation=operation,
        reported=reported_cost(attrs),
        stop_reason=stop_reason,
        finish=attrs.get("gen_ai.response.finish_reasons"),
        event_id=event_id,
    )


def map_span(span: SpanRecord) -> ModelCall | None:
    return map_genai_span(span)
