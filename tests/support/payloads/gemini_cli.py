"""Gemini CLI payloads: `api_response`, the duplicate inference-details record, and the
`llm_call` span the CLI adds with `telemetry.traces: true` (Gemini CLI 0.61.0, issue 10).

With traces on, the CLI's records are emitted inside the `llm_call` span, so they carry its
trace and span ids; with traces off they carry none.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.adapters import log, logs, span, traces
from tests.support.otlp import NOW_NS

RESOURCE = {"service.name": "gemini-cli", "service.version": "0.21.0"}
SCOPE = "gemini-cli"
COMMON = {
    "session.id": "9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
    "installation.id": "7e2f...installation",
    "interactive": True,
    "user.email": "dee@example.com",
    "event.timestamp": "2026-01-02T10:00:00.456Z",
}
API_RESPONSE = {
    **COMMON,
    "event.name": "gemini_cli.api_response",
    "model": "gemini-2.5-pro",
    "duration_ms": 5321,
    "input_token_count": 10000,  # promptTokenCount, includes the 6000 cached
    "output_token_count": 500,  # candidatesTokenCount, excludes the 1200 thoughts
    "cached_content_token_count": 6000,
    "thoughts_token_count": 1200,
    "tool_token_count": 100,
    "total_token_count": 11800,
    "prompt_id": "9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b########3",
    "auth_type": "gemini-api-key",
    "status_code": 200,
    "http.status_code": 200,
    "finish_reasons": ["STOP"],
}
DETAILS = {
    **COMMON,
    "event.name": "gen_ai.client.inference.operation.details",
    "gen_ai.response.id": "d3JpdGUgYSByZXNwb25zZSBpZA",
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.operation.name": "generate_content",
    "gen_ai.provider.name": "gcp.gen_ai",
    "gen_ai.request.model": "gemini-2.5-pro",
    "gen_ai.response.model": "gemini-2.5-pro",
    "gen_ai.usage.input_tokens": 10000,
    "gen_ai.usage.output_tokens": 500,
}

# The `llm_call` span of the same call (packages/core/src/telemetry/trace.ts runInDevTraceSpan,
# core/loggingContentGenerator.ts): usage input includes cache, output excludes thoughts, and
# there is no response id, no user, no cache or thoughts count.
LLM_CALL_SPAN = {
    "gen_ai.operation.name": "llm_call",
    "gen_ai.agent.name": "gemini-cli",
    "gen_ai.agent.description": "Gemini CLI",
    "gen_ai.conversation.id": COMMON["session.id"],
    "gen_ai.request.model": "gemini-2.5-pro",
    "gen_ai.prompt.name": API_RESPONSE["prompt_id"],
    "gen_ai.usage.input_tokens": 10000,
    "gen_ai.usage.output_tokens": 500,
}
LLM_CALL_TRACE_ID = "5a1e0c3b9d2f4e6a8b7c6d5e4f3a2b1c"
LLM_CALL_SPAN_ID = "1c2d3e4f5a6b7c8d"


def gemini_logs(
    *records: dict[str, Any], resource: dict[str, Any] = RESOURCE, traced: bool = False
) -> ExportLogsServiceRequest:
    """`traced`: emitted inside the llm_call span, as with telemetry.traces on."""
    ids = {"trace_id": LLM_CALL_TRACE_ID, "span_id": LLM_CALL_SPAN_ID} if traced else {}
    return logs(resource, [log(attrs, **ids) for attrs in records], scope=SCOPE)


def gemini_traces(
    attrs: dict[str, Any] = LLM_CALL_SPAN, resource: dict[str, Any] = RESOURCE
) -> ExportTraceServiceRequest:
    """The llm_call span as the CLI's tracer (`gemini-cli`) exports it; it started before its log."""
    started = NOW_NS - int(API_RESPONSE["duration_ms"]) * 1_000_000
    llm_call = span("llm_call", attrs, LLM_CALL_SPAN_ID, trace_id=LLM_CALL_TRACE_ID, start_ns=started)
    return traces(resource, [llm_call], scope=SCOPE)
