"""Log records that describe one model call with GenAI / agent.* attributes.

Covers the `gen_ai.client.inference.operation.details` event and agent.* emitters that
send their calls as log records (`agent.event.kind=model_call`).
"""

from __future__ import annotations

from bridge.mapping.attributes import text
from bridge.mapping.common import log_call, log_hash_key
from bridge.mapping.identity import conversation_session, identity, reported_cost
from bridge.mapping.providers import normalise_provider, provider_for_model
from bridge.mapping.records import LogRecord
from bridge.mapping.semconv import (
    EVENT_ID_KEYS,
    genai_dedup_key,
    genai_tokens,
    has_usage,
    uses_agent_extension,
)
from bridge.model import ModelCall, Rejected

SOURCE = "otel-genai-event"
INFERENCE_EVENT = "gen_ai.client.inference.operation.details"


def dedup_key(record: LogRecord) -> str:
    """Response id or event id first; an event emitted inside its inference span is that span's call."""
    if record.event_name == INFERENCE_EVENT and record.trace_id and record.span_id:
        fallback = f"span:{record.trace_id}:{record.span_id}"
    else:
        fallback = log_hash_key(record)
    return genai_dedup_key(record.attrs, fallback)


def claims(record: LogRecord) -> bool:
    return True


def map_log(record: LogRecord) -> ModelCall | None:
    kind = text(record.attrs, "agent.event.kind")
    if kind is not None and kind != "model_call":
        return None
    if record.event_name != INFERENCE_EVENT and kind != "model_call":
        return None
    if not has_usage(record.attrs):
        return None
    attrs = record.merged()
    request_model = text(attrs, "gen_ai.request.model")
    response_model = text(attrs, "gen_ai.response.model")
    model = response_model or request_model
    if not model:
        raise Rejected("log record has gen_ai usage but no gen_ai.request.model or gen_ai.response.model")
    error = text(attrs, "error.type")
    call = log_call(
        record,
        source=SOURCE,
        dedup_key=dedup_key(record),
        model=model,
        tokens=genai_tokens(attrs, exclusive=uses_agent_extension(record)),
        identity=identity(attrs),
        provider=normalise_provider(text(attrs, "gen_ai.provider.name", "gen_ai.system"))
        or provider_for_model(model),
        request_model=request_model,
        response_model=response_model,
        api_dialect=text(attrs, "agent.api.dialect"),
        operation=text(attrs, "gen_ai.operation.name"),
        reported=reported_cost(attrs),
        error=error,
        stop_reason=text(attrs, "agent.stop_reason"),
        finish=attrs.get("gen_ai.response.finish_reasons"),
        event_id=text(record.attrs, *EVENT_ID_KEYS),
    )
    conversation_session(call.identity, record.attrs)  # Copilot's event: not the window's session
    return call
