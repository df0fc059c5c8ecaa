"""Log records that describe one model call with GenAI / agent.* attributes.

Covers the `gen_ai.client.inference.operation.details` event and agent.* emitters that
send their calls as log records (`agent.event.kind=model_call`).
"""

from __future__ import annotations

import hashlib
import json

from bridge.attributes import InvalidNumber, text, token_count, without_content
from bridge.mapping.call import ModelCall, Rejected, normalise_tokens
from bridge.mapping.identity import identity, reported_cost
from bridge.mapping.providers import normalise_provider, provider_for_model
from bridge.mapping.records import LogRecord, ns_to_datetime
from bridge.mapping.semconv import (
    CACHE_READ_KEYS,
    CACHE_WRITE_KEYS,
    INPUT_KEYS,
    OUTPUT_KEYS,
    REASONING_KEYS,
    checked_start_ns,
    finish_reasons,
    has_usage,
    uses_agent_extension,
)

SOURCE = "otel-genai-event"
INFERENCE_EVENT = "gen_ai.client.inference.operation.details"


def record_hash(record: LogRecord) -> str:
    """A stable id for a log record that carries none: identical re-sends hash equal."""
    payload = json.dumps(
        [record.time_ns, record.event_name, record.attrs, record.resource.get("service.name")],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def dedup_key(record: LogRecord) -> str:
    event_id = text(record.attrs, "agent.event.id", "event.id")
    if event_id:
        return f"event:{event_id}"
    if record.event_name == INFERENCE_EVENT and record.trace_id and record.span_id:
        # Emitted inside the inference span: the same call as that span, if it arrives too.
        return f"span:{record.trace_id}:{record.span_id}"
    return f"log:{record_hash(record)}"


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
    try:
        tokens = normalise_tokens(
            input_reported=token_count(attrs, *INPUT_KEYS),
            output_reported=token_count(attrs, *OUTPUT_KEYS),
            cache_read=token_count(attrs, *CACHE_READ_KEYS),
            cache_write=token_count(attrs, *CACHE_WRITE_KEYS),
            reasoning=token_count(attrs, *REASONING_KEYS),
            input_includes_cache=not uses_agent_extension(record.attrs),
        )
    except InvalidNumber as exc:
        raise Rejected(str(exc)) from None
    ts_ns = checked_start_ns(record.time_ns or record.observed_ns, "log time_unix_nano")
    return ModelCall(
        dedup_key=dedup_key(record),
        ts=ns_to_datetime(ts_ns),
        source=SOURCE,
        signal="log",
        model=model,
        tokens=tokens,
        identity=identity(attrs),
        provider=normalise_provider(text(attrs, "gen_ai.provider.name", "gen_ai.system"))
        or provider_for_model(model),
        request_model=request_model,
        response_model=response_model,
        api_dialect=text(attrs, "agent.api.dialect"),
        operation=text(attrs, "gen_ai.operation.name"),
        reported=reported_cost(attrs),
        stop_reason=text(attrs, "agent.stop_reason"),
        finish_reasons=finish_reasons(attrs.get("gen_ai.response.finish_reasons")),
        status="error" if text(attrs, "error.type") else "ok",
        error=text(attrs, "error.type"),
        trace_id=record.trace_id or None,
        span_id=record.span_id or None,
        event_id=text(record.attrs, "agent.event.id", "event.id"),
        attributes=without_content(record.attrs),
    )
