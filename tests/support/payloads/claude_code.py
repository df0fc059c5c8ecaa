"""Claude Code payloads: an `api_request` log event and the matching `llm_request` span."""

from __future__ import annotations

RESOURCE = {"service.name": "claude-code", "service.version": "2.1.289", "os.type": "darwin"}
EVENTS_SCOPE = "com.anthropic.claude_code.events"
STANDARD = {
    "session.id": "cec62d6f-60f8-43e8-a67b-133b2a138a83",
    "user.email": "ana@example.com",
    "user.account_uuid": "11111111-1111-1111-1111-111111111111",
    "user.id": "3a6f0c…anonymous",
    "organization.id": "00000000-0000-0000-0000-000000000000",
    "terminal.type": "vscode",
    "prompt.id": "0c9d7e0b-5f3c-4d0a-9f7e-2f5a8b1c6d4e",
    "app.version": "2.1.289",
}
API_REQUEST = {
    **STANDARD,
    "event.name": "api_request",
    "event.timestamp": "2026-01-02T10:00:00.000Z",
    "event.sequence": 17,
    "model": "claude-sonnet-4-5-20250929",
    "input_tokens": 12,  # int
    "output_tokens": "845",  # string
    "cache_read_tokens": 48210.0,  # double
    "cache_creation_tokens": 3120,
    "cost_usd": 0.0361785,
    "duration_ms": 4210,
    "ttft_ms": 610,
    "speed": "normal",
    "query_source": "repl_main_thread",
    "request_id": "req_011CbtJR1bZ4uLs3hmdd96uE",
}
LLM_REQUEST_SPAN = {
    **STANDARD,
    "span.type": "llm_request",
    "model": "claude-sonnet-4-5-20250929",
    "gen_ai.system": "anthropic",
    "gen_ai.request.model": "claude-sonnet-4-5-20250929",
    "gen_ai.response.id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "gen_ai.response.finish_reasons": ["tool_use"],
    "llm_request.context": "interaction",
    "input_tokens": 12,
    "output_tokens": 845,
    "cache_read_tokens": 48210,
    "cache_creation_tokens": 3120,
    "request_id": "req_011CbtJR1bZ4uLs3hmdd96uE",
    "client_request_id": "3f1c9d2e-5a47-4b80-9c16-8e2d7a4f6b03",
    "attempt": 1,
    "success": True,
    "stop_reason": "tool_use",
}
