"""OpenTelemetry GenAI semantic conventions plus the `agent.*` extension namespace.

The fallback adapter: any span that carries `gen_ai.*` usage and is not claimed by a
more specific harness adapter is mapped here.
"""

from __future__ import annotations

import time

from bridge.attributes import Attributes, InvalidNumber, text, token_count, without_content
from bridge.mapping.call import ModelCall, Rejected, normalise_tokens
from bridge.mapping.identity import identity, reported_cost
from bridge.mapping.providers import normalise_provider, provider_for_model
from bridge.mapping.records import SpanRecord, ns_to_datetime

SOURCE = "otel-genai"

# Operations that describe agents and tools, not a billed model call. Agent spans repeat
# the usage of their children; counting them would double the bill.
NOT_MODEL_CALLS = frozenset({"invoke_agent", "create_agent", "execute_tool", "invoke_workflow"})

INPUT_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
CACHE_READ_KEYS = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
)
CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
REASONING_KEYS = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
USAGE_KEYS = INPUT_KEYS + OUTPUT_KEYS

# A call more than this far in the future is a broken clock, not a call.
MAX_FUTURE_SECONDS = 24 * 3600
EARLIEST_NS = 1_577_836_800 * 1_000_000_000  # 2020-01-01


def has_usage(attrs: Attributes) -> bool:
    return any(key in attrs for key in USAGE_KEYS)


def uses_agent_extension(attrs: Attributes) -> bool:
    """The agent.* emitters report input *excluding* cache, unlike the GenAI conventions."""
    return any(key.startswith("agent.") for key in attrs)


def checked_start_ns(start_ns: int, field: str) -> int:
    if start_ns < EARLIEST_NS:
        raise Rejected(f"{field} is missing or before 2020 ({start_ns})")
    if start_ns > (time.time() + MAX_FUTURE_SECONDS) * 1_000_000_000:
        raise Rejected(f"{field} is more than a day in the future ({start_ns})")
    return start_ns


def is_model_call(span: SpanRecord) -> bool:
    operation = text(span.attrs, "gen_ai.operation.name")
    if operation in NOT_MODEL_CALLS:
        return False
    kind = text(span.attrs, "agent.event.kind")
    if kind is not None and kind != "model_call":
        return False
    return has_usage(span.attrs)


def finish_reasons(raw: object) -> list[str] | None:
    if isinstance(raw, list):
        return [str(f) for f in raw]
    return [str(raw)] if raw not in (None, "") else None


def claims(span: SpanRecord) -> bool:
    """The fallback adapter looks at every span no specific adapter claimed."""
    return True


def map_span(span: SpanRecord) -> ModelCall | None:
    if not is_model_call(span):
        return None
    attrs = span.merged()
    request_model = text(attrs, "gen_ai.request.model")
    response_model = text(attrs, "gen_ai.response.model")
    model = response_model or request_model
    if not model:
        raise Rejected("span has gen_ai usage but no gen_ai.request.model or gen_ai.response.model")
    try:
        tokens = normalise_tokens(
            input_reported=token_count(attrs, *INPUT_KEYS),
            output_reported=token_count(attrs, *OUTPUT_KEYS),
            cache_read=token_count(attrs, *CACHE_READ_KEYS),
            cache_write=token_count(attrs, *CACHE_WRITE_KEYS),
            reasoning=token_count(attrs, *REASONING_KEYS),
            input_includes_cache=not uses_agent_extension(span.attrs),
        )
    except InvalidNumber as exc:
        raise Rejected(str(exc)) from None
    start_ns = checked_start_ns(span.start_ns, "span start_time_unix_nano")
    duration_ms = (span.end_ns - start_ns) / 1e6 if span.end_ns >= start_ns else None
    provider = normalise_provider(text(attrs, "gen_ai.provider.name", "gen_ai.system"))
    finish = attrs.get("gen_ai.response.finish_reasons")
    return ModelCall(
        dedup_key=f"span:{span.trace_id}:{span.span_id}",
        ts=ns_to_datetime(start_ns),
        source=SOURCE,
        signal="trace",
        model=model,
        tokens=tokens,
        identity=identity(attrs),
        provider=provider or provider_for_model(model),
        request_model=request_model,
        response_model=response_model,
        api_dialect=text(attrs, "agent.api.dialect"),
        operation=text(attrs, "gen_ai.operation.name"),
        reported=reported_cost(attrs),
        duration_ms=duration_ms,
        status="error" if span.is_error else "ok",
        error=(text(attrs, "error.type") or span.status_message or "error") if span.is_error else None,
        stop_reason=text(attrs, "agent.stop_reason"),
        finish_reasons=finish_reasons(finish),
        trace_id=span.trace_id,
        span_id=span.span_id,
        attributes=without_content(span.attrs),
    )
