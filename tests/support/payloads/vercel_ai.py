"""Vercel AI SDK span attributes: the common ones and v6 usage."""

from __future__ import annotations

RESOURCE = {"service.name": "support-bot", "deployment.environment.name": "prod"}
SCOPE = "ai"
BASE = {
    "ai.model.id": "claude-sonnet-4-5",
    "ai.model.provider": "anthropic.messages",
    "ai.telemetry.functionId": "answer-ticket",
    "ai.telemetry.metadata.userId": "fay@example.com",
    "ai.telemetry.metadata.sessionId": "ticket-4711",
}
# AI SDK v6: inputTokens is the total and the parts are spelled out.
V6_USAGE = {
    "ai.usage.inputTokens": 10000,
    "ai.usage.inputTokenDetails.noCacheTokens": 1500,
    "ai.usage.inputTokenDetails.cacheReadTokens": 8000,
    "ai.usage.inputTokenDetails.cacheWriteTokens": 500,
    "ai.usage.outputTokens": 700,
    "ai.usage.outputTokenDetails.reasoningTokens": 200,
    "ai.usage.totalTokens": 10700,
}
