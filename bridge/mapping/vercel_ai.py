"""Vercel AI SDK telemetry (`experimental_telemetry`): `ai.*` spans.

Shapes from the AI SDK telemetry docs (ai-sdk.dev/docs/ai-sdk-core/telemetry) and its source.
Only the provider calls (`ai.generateText.doGenerate`, `ai.streamText.doStream`, ...doEmbed)
are model calls; `ai.generateText` / `ai.streamText` parents repeat the summed usage of their
steps and `ai.toolCall` spans carry none, so both are ignored.

Input semantics changed across SDK versions: v6 sums fresh + cache read + cache write into
`ai.usage.inputTokens` and spells the parts out under `ai.usage.inputTokenDetails.*` (with
`noCacheTokens`, the uncached input itself); v5 passed Anthropic's fresh-only count through
unchanged, while OpenAI-style providers always included cached input.
"""

from __future__ import annotations

from bridge.mapping.attributes import Attributes, has_prefix, text
from bridge.mapping.common import count, required_model, response_key, span_call, span_key
from bridge.mapping.identity import identity, reported_cost
from bridge.mapping.providers import normalise_provider, provider_for_model
from bridge.mapping.records import SpanRecord
from bridge.model import ModelCall, normalise_tokens

SOURCE = "vercel-ai"
CHAT_CALLS = frozenset(
    {
        "ai.generateText.doGenerate",
        "ai.streamText.doStream",
        "ai.generateObject.doGenerate",
        "ai.streamObject.doStream",
    }
)
EMBED_CALLS = frozenset({"ai.embed.doEmbed", "ai.embedMany.doEmbed"})

INPUT_KEYS = (
    "ai.usage.inputTokens",
    "ai.usage.promptTokens",  # SDK < 5
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "ai.usage.tokens",  # embeddings
)
OUTPUT_KEYS = (
    "ai.usage.outputTokens",
    "ai.usage.completionTokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
)
NO_CACHE_KEY = "ai.usage.inputTokenDetails.noCacheTokens"
CACHE_READ_KEYS = ("ai.usage.inputTokenDetails.cacheReadTokens", "ai.usage.cachedInputTokens")
CACHE_WRITE_KEYS = ("ai.usage.inputTokenDetails.cacheWriteTokens",)
REASONING_KEYS = ("ai.usage.outputTokenDetails.reasoningTokens", "ai.usage.reasoningTokens")
MODEL_KEYS = ("ai.response.model", "gen_ai.response.model", "ai.model.id", "gen_ai.request.model")


def operation_id(span: SpanRecord) -> str:
    """`ai.operationId` is exact; the span name may carry the functionId after a space."""
    return text(span.attrs, "ai.operationId") or span.name.split(" ", 1)[0]


def claims(span: SpanRecord) -> bool:
    return span.name.startswith("ai.") or "ai.operationId" in span.attrs


def _input(attrs: Attributes, provider: str | None) -> tuple[int | None, bool]:
    """The input count and whether it includes the cache buckets, per SDK generation."""
    no_cache = count(attrs, NO_CACHE_KEY)
    if no_cache is not None:
        return no_cache, False
    reported = count(attrs, *INPUT_KEYS)
    if has_prefix(attrs, "ai.usage.inputTokenDetails."):
        return reported, True
    return reported, provider != "anthropic"


def map_span(span: SpanRecord) -> ModelCall | None:
    operation = operation_id(span)
    if operation not in CHAT_CALLS and operation not in EMBED_CALLS:
        return None
    attrs = span.merged()
    if not any(key in attrs for key in (*INPUT_KEYS, *OUTPUT_KEYS)):
        return None  # an aborted step reports no usage: nothing to bill
    model = required_model(attrs, f"{operation} span", *MODEL_KEYS)
    provider = normalise_provider(text(attrs, "ai.model.provider", "gen_ai.provider.name", "gen_ai.system"))
    provider = provider or provider_for_model(model)
    input_reported, includes_cache = _input(attrs, provider)
    tokens = normalise_tokens(
        input_reported=input_reported,
        output_reported=count(attrs, *OUTPUT_KEYS),
        cache_read=count(attrs, *CACHE_READ_KEYS),
        cache_write=count(attrs, *CACHE_WRITE_KEYS),
        reasoning=count(attrs, *REASONING_KEYS),
        input_includes_cache=includes_cache,
    )
    return span_call(
        span,
        source=SOURCE,
        dedup_key=response_key(span.attrs, "gen_ai.response.id", "ai.response.id") or span_key(span),
        model=model,
        tokens=tokens,
        identity=identity(
            attrs,
            user_fallback=("ai.telemetry.metadata.userId", "ai.telemetry.metadata.user_id"),
            session_fallback=("ai.telemetry.metadata.sessionId", "ai.telemetry.metadata.session_id"),
        ),
        provider=provider,
        request_model=text(attrs, "ai.model.id", "gen_ai.request.model"),
        response_model=text(attrs, "ai.response.model", "gen_ai.response.model"),
        operation="embeddings" if operation in EMBED_CALLS else "chat",
        reported=reported_cost(attrs),
        finish=attrs.get("gen_ai.response.finish_reasons")
        or text(attrs, "ai.response.finishReason", "ai.finishReason"),
    )
