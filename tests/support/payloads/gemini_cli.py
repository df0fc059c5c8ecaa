"""Gemini CLI payloads: `api_response` and the duplicate inference-details record."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from tests.support.adapters import log, logs

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


def gemini_logs(*records: dict[str, Any], resource: dict[str, Any] = RESOURCE) -> ExportLogsServiceRequest:
    return logs(resource, [log(attrs) for attrs in records], scope=SCOPE)
