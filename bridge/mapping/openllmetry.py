"""OpenLLMetry / Traceloop spans: `llm.request.type`, `traceloop.*` and `llm.usage.*`.

Shapes from traceloop/openllmetry (opentelemetry-semantic-conventions-ai `SpanAttributes` and
the provider instrumentations). Prompt tokens include cache: the Anthropic instrumentation
writes `prompt_tokens = input + cache_read + cache_creation`, OpenAI's prompt tokens always
include cached ones. Workflow / task / agent / tool spans made by the Traceloop decorators
frame model calls and are not calls themselves.
"""

from __future__ import annotations

from bridge.mapping.attributes import text
from bridge.mapping.common import count, required_model, span_call, span_key
from bridge.mapping.identity import identity, reported_cost
from bridge.mapping.providers import normalise_provider, provider_for_model
from bridge.mapping.records import SpanRecord
from bridge.mapping.semconv import (
    CACHE_READ_KEYS,
    CACHE_WRITE_KEYS,
    INPUT_KEYS,
    OUTPUT_KEYS,
    REASONING_KEYS,
    genai_dedup_key,
)
from bridge.model import ModelCall, normalise_tokens

SOURCE = "openllmetry"
NOT_CALL_KINDS = frozenset({"workflow", "task", "agent", "tool"})
ASSOCIATION = "traceloop.association.properties."
NAMESPACES = frozenset({"traceloop.", "llm.usage."})  # in records.CLAIM_NAMESPACES


def claims(span: SpanRecord) -> bool:
    return "llm.request.type" in span.attrs or not NAMESPACES.isdisjoint(span.namespaces)


def map_span(span: SpanRecord) -> ModelCall | None:
    if text(span.attrs, "traceloop.span.kind") in NOT_CALL_KINDS:
        return None
    input_keys = (*INPUT_KEYS, "llm.usage.prompt_tokens")
    output_keys = (*OUTPUT_KEYS, "llm.usage.completion_tokens")
    if not any(key in span.attrs for key in (*input_keys, *output_keys)):
        return None
    attrs = span.merged()
    model = required_model(
        attrs, "OpenLLMetry span", "gen_ai.response.model", "gen_ai.request.model", "llm.response.model"
    )
    tokens = normalise_tokens(
        input_reported=count(attrs, *input_keys),
        output_reported=count(attrs, *output_keys),
        cache_read=count(attrs, *CACHE_READ_KEYS, "llm.usage.cache_read_input_tokens"),
        cache_write=count(attrs, *CACHE_WRITE_KEYS, "llm.usage.cache_creation_input_tokens"),
        reasoning=count(attrs, *REASONING_KEYS, "llm.usage.reasoning_tokens"),
        input_includes_cache=True,
    )
    provider = normalise_provider(text(attrs, "gen_ai.provider.name", "gen_ai.system", "llm.vendor"))
    return span_call(
        span,
        source=SOURCE,
        dedup_key=genai_dedup_key(span.attrs, span_key(span)),
        model=model,
        tokens=tokens,
        identity=identity(
            attrs,
            user_fallback=(f"{ASSOCIATION}user_id", f"{ASSOCIATION}userId"),
            session_fallback=(f"{ASSOCIATION}session_id", f"{ASSOCIATION}sessionId"),
        ),
        provider=provider or provider_for_model(model),
        request_model=text(attrs, "gen_ai.request.model"),
        response_model=text(attrs, "gen_ai.response.model"),
        operation=text(attrs, "gen_ai.operation.name", "llm.request.type"),
        reported=reported_cost(attrs),
        finish=attrs.get("gen_ai.response.finish_reasons"),
    )
