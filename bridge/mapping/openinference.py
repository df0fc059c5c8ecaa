"""OpenInference (Arize Phoenix) spans: `openinference.span.kind` plus `llm.token_count.*`.

Shapes from the OpenInference semantic conventions (openinference-semantic-conventions
SpanAttributes). `llm.token_count.prompt` includes cache reads and writes (the instrumentors'
own tests assert prompt = fresh + cache_write + cache_read) and `completion` includes reasoning.
Only LLM and EMBEDDING spans are calls: CHAIN and AGENT spans of LangChain / LlamaIndex often
repeat their children's totals, and TOOL / RETRIEVER spans bill nothing.
"""

from __future__ import annotations

from bridge.mapping.attributes import text
from bridge.mapping.common import count, required_model, response_key, span_call, span_key
from bridge.mapping.identity import identity, reported_cost
from bridge.mapping.providers import normalise_provider, provider_for_model
from bridge.mapping.records import SpanRecord
from bridge.model import ModelCall, normalise_tokens

SOURCE = "openinference"
KIND = "openinference.span.kind"
CALL_KINDS = frozenset({"LLM", "EMBEDDING"})
TOKEN_COUNT_NAMESPACE = "llm.token_count."  # one of records.CLAIM_NAMESPACES
PROMPT = "llm.token_count.prompt"
COMPLETION = "llm.token_count.completion"
CACHE_READ_KEYS = ("llm.token_count.prompt_details.cache_read", "llm.token_count.prompt_details.cache_input")
CACHE_WRITE_KEYS = ("llm.token_count.prompt_details.cache_write",)
REASONING_KEYS = ("llm.token_count.completion_details.reasoning",)


def claims(span: SpanRecord) -> bool:
    return KIND in span.attrs or TOKEN_COUNT_NAMESPACE in span.namespaces


def map_span(span: SpanRecord) -> ModelCall | None:
    kind = (text(span.attrs, KIND) or "LLM").upper()
    if kind not in CALL_KINDS or (PROMPT not in span.attrs and COMPLETION not in span.attrs):
        return None
    attrs = span.merged()
    model = required_model(attrs, f"OpenInference {kind} span", "llm.model_name", "embedding.model_name")
    tokens = normalise_tokens(
        input_reported=count(attrs, PROMPT),
        output_reported=count(attrs, COMPLETION),
        cache_read=count(attrs, *CACHE_READ_KEYS),
        cache_write=count(attrs, *CACHE_WRITE_KEYS),
        reasoning=count(attrs, *REASONING_KEYS),
        input_includes_cache=True,
    )
    provider = normalise_provider(text(attrs, "llm.provider", "llm.system")) or provider_for_model(model)
    return span_call(
        span,
        source=SOURCE,
        dedup_key=response_key(span.attrs) or span_key(span),
        model=model,
        tokens=tokens,
        identity=identity(attrs),
        provider=provider,
        request_model=model,
        operation="embeddings" if kind == "EMBEDDING" else "chat",
        reported=reported_cost(attrs, "llm.cost.total"),
    )
