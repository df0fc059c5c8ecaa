"""Codex CLI payloads: `log_event!` metadata and a `response.completed` SSE event."""

from __future__ import annotations

RESOURCE = {"service.name": "codex_cli_rs", "service.version": "0.46.0", "env": "dev"}
METADATA = {
    "event.timestamp": "2026-01-02T10:00:00.123Z",
    "conversation.id": "0199a213-81c0-7800-8aa1-bbab2a035a53",
    "app.version": "0.46.0",
    "auth_mode": "chatgpt",
    "user.account_id": "acct_123",
    "user.email": "cy@example.com",
    "terminal.type": "iTerm.app/3.6.1",
    "model": "gpt-5-codex",
    "slug": "gpt-5-codex",
}
COMPLETED = {
    **METADATA,
    "event.name": "codex.sse_event",
    "event.kind": "response.completed",
    "input_token_count": "12000",  # includes the 9000 cached
    "output_token_count": "800",  # includes the 300 reasoning
    "cached_token_count": 9000,
    "reasoning_token_count": 300,
    "tool_token_count": "0",
}
