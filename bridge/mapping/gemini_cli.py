"""Gemini CLI: `gemini_cli.api_response` / `api_error` log records.

Shapes from google-gemini/gemini-cli (packages/core/src/telemetry/types.ts, loggers.ts) and
docs/cli/telemetry.md. The counts are the Gemini API `usageMetadata`: `input_token_count`
(promptTokenCount) includes `cached_content_token_count`; `output_token_count`
(candidatesTokenCount) excludes `thoughts_token_count`, which is billed as output; and
`tool_token_count` (toolUsePromptTokenCount) is input on top of the prompt, so
total = input + output + thoughts + tool.

`logApiResponse` also emits a `gen_ai.client.inference.operation.details` record for the same
call. It carries only input/output (no cache, no thoughts), so it would undercount; it is
claimed here and ignored rather than left to the generic event adapter.

With `telemetry.traces: true` (GEMINI_TELEMETRY_TRACES_ENABLED) the CLI also exports an
`llm_call` span per call (packages/core/src/telemetry/trace.ts, tracer `gemini-cli`;
core/loggingContentGenerator.ts): `gen_ai.operation.name=llm_call`, `gen_ai.agent.name=gemini-cli`,
`gen_ai.conversation.id` (the session), `gen_ai.request.model` and `gen_ai.usage.input_tokens`
(including cache) / `output_tokens` (without thoughts), but no response id, no user, no cache or
thoughts split. The generic span adapter would store it as a second, mis-bucketed row for the
same call; the `api_response` log is the source of truth, so these spans are claimed and ignored.
"""

from __future__ import annotations

from bridge.mapping.attributes import Attributes, text
from bridge.mapping.common import count, duration, log_call, log_hash_key, required_model, short_hash
from bridge.mapping.identity import harness_from_service, identity
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

SOURCE = "gemini-cli"
HARNESS = "gemini-cli"
PREFIX = "gemini_cli."
INFERENCE_EVENT = "gen_ai.client.inference.operation.details"
# GeminiCliOperation values used as span names and gen_ai.operation.name.
LLM_CALL = "llm_call"
MAX_ERROR_CHARS = 300

# auth_type (AuthType in contentGenerator.ts) → provider, mirroring the CLI's own
# getGenAiProvider, and how the call is paid for.
PROVIDERS = {
    "gemini-api-key": "gcp.gemini",
    "vertex-ai": "gcp.vertex_ai",
    "compute-default-credentials": "gcp.vertex_ai",
    "oauth-personal": "gcp.vertex_ai",
    "cloud-shell": "gcp.vertex_ai",
}
ESTIMATIONS: dict[str, CostEstimation] = {
    "gemini-api-key": "metered",
    "vertex-ai": "metered",
    "compute-default-credentials": "metered",
    "oauth-personal": "subscription",  # Login with Google: free tier or a Code Assist licence
    "cloud-shell": "subscription",
}


def from_gemini_cli(record: LogRecord) -> bool:
    """Service name, logger scope (`gemini-cli`) or the CLI's `installation.id` common attribute."""
    return (
        record.service_harness == HARNESS or record.scope_name == HARNESS or "installation.id" in record.attrs
    )


def claims_span(span: SpanRecord) -> bool:
    """A Gemini CLI span repeating a call: from the CLI (service, tracer scope `gemini-cli` or
    `gen_ai.agent.name`) and an `llm_call` by span name or operation, or carrying usage under
    the CLI's own agent name. Never the span name alone."""
    agent = harness_from_service(text(span.attrs, "gen_ai.agent.name")) == HARNESS
    service = span.service_harness == HARNESS
    if not (agent or service or span.scope_name == HARNESS) or AGENT_NAMESPACE in span.namespaces:
        return False  # agent.* emitters running under the CLI's name are not the CLI's tracer
    operation = text(span.attrs, "gen_ai.operation.name")
    return LLM_CALL in (span.name, operation) or (agent and has_usage(span.attrs))


def map_span(span: SpanRecord) -> ModelCall | None:
    """Ignored: the `gemini_cli.api_response` log of the same call is counted instead."""
    return None


def claims_log(record: LogRecord) -> bool:
    if record.event_name.startswith(PREFIX):
        return True
    return record.event_name == INFERENCE_EVENT and from_gemini_cli(record)


def dedup_key(record: LogRecord, attrs: Attributes, model: str, *parts: object) -> str:
    """Session + the CLI's own `event.timestamp` (stamped once per event) + model + usage."""
    session = text(attrs, "session.id")
    if not session:
        return log_hash_key(record)
    when = text(attrs, "event.timestamp") or str(record.time_ns)
    return f"gemini-cli:{session}:{short_hash(when, model, text(attrs, 'prompt_id'), *parts)}"


def map_log(record: LogRecord) -> ModelCall | None:
    if record.event_name == f"{PREFIX}api_response":
        return _api_response(record)
    if record.event_name == f"{PREFIX}api_error":
        return _api_error(record)
    return None  # other CLI events, and the duplicate inference-details record


def gemini_identity(attrs: Attributes) -> Identity:
    """Older CLI releases put Node's `process.version` (`v20.…`) in service.version, not their own."""
    ident = identity(attrs, default_harness=HARNESS)
    if ident.harness_version and ident.harness_version.startswith("v"):
        ident.harness_version = None
    return ident


def _common(attrs: Attributes, model: str) -> tuple[str | None, ReportedCost]:
    auth_type = (text(attrs, "auth_type") or "").lower()
    provider = PROVIDERS.get(auth_type) or provider_for_model(model)
    return provider, ReportedCost(estimation=ESTIMATIONS.get(auth_type))


def _api_response(record: LogRecord) -> ModelCall:
    attrs = record.merged()
    model = required_model(attrs, "gemini_cli.api_response record", "model")
    raw_input = count(attrs, "input_token_count")
    raw_output = count(attrs, "output_token_count")
    tool = count(attrs, "tool_token_count") or 0
    tokens = normalise_tokens(
        input_reported=(raw_input or 0) + tool,
        output_reported=raw_output,
        cache_read=count(attrs, "cached_content_token_count"),
        reasoning=count(attrs, "thoughts_token_count"),
        input_includes_cache=True,
        output_includes_reasoning=False,
    )
    provider, reported = _common(attrs, model)
    return log_call(
        record,
        source=SOURCE,
        dedup_key=dedup_key(record, attrs, model, raw_input, raw_output),
        model=model,
        tokens=tokens,
        identity=gemini_identity(attrs),
        provider=provider,
        duration_ms=duration(attrs, "duration_ms"),
        request_model=model,
        operation="generate_content",
        reported=reported,
        finish=attrs.get("finish_reasons"),
    )


def _api_error(record: LogRecord) -> ModelCall:
    """Same choice as Claude Code: a zero-token error row, visible in error rates, costing nothing."""
    attrs = record.merged()
    model = text(attrs, "model")
    if not model:
        raise Rejected("gemini_cli.api_error record has no 'model' attribute")
    message = text(attrs, "error", "error.message") or f"HTTP {text(attrs, 'status_code') or 'error'}"
    provider, reported = _common(attrs, model)
    return log_call(
        record,
        source=SOURCE,
        dedup_key=f"{dedup_key(record, attrs, model, message)}:error",
        model=model,
        tokens=Tokens(),
        identity=gemini_identity(attrs),
        provider=provider,
        duration_ms=duration(attrs, "duration_ms"),
        request_model=model,
        operation="generate_content",
        reported=reported,
        error=(text(attrs, "error.type", "error_type") or message)[:MAX_ERROR_CHARS],
    )
