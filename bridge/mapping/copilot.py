"""GitHub Copilot (VS Code Copilot Chat and the Copilot CLI runtime): GenAI-convention spans.

Shapes from microsoft/vscode extensions/copilot/docs/monitoring/agent_monitoring.md and the
GitHub Copilot OpenTelemetry reference: an `invoke_agent copilot` span (agent totals, ignored)
wrapping `chat {model}` spans (one per LLM request) and `execute_tool` / `execute_hook` spans.
The `gen_ai.client.inference.operation.details` event for the same request carries the same
`gen_ai.response.id`, so the generic event adapter lands it on the span's row.

Chat spans carry no user: identity capture puts `user.name` on `invoke_agent` only and the OS
user on the resource (`process.user.name`), used here after the shared precedence.
"""

from __future__ import annotations

from bridge.mapping.attributes import has_prefix, text
from bridge.mapping.identity import harness_from_service
from bridge.mapping.records import SpanRecord
from bridge.mapping.semconv import map_genai_span
from bridge.model import ModelCall

SOURCE = "copilot"
HARNESS = "copilot"


def claims(span: SpanRecord) -> bool:
    if harness_from_service(text(span.resource, "service.name")) == HARNESS:
        return True
    return has_prefix(span.attrs, "copilot_chat.", "github.copilot.") or (
        text(span.attrs, "gen_ai.provider.name") == "github"
    )


def map_span(span: SpanRecord) -> ModelCall | None:
    return map_genai_span(
        span,
        source=SOURCE,
        default_harness=HARNESS,
        user_fallback=("user.name", "process.user.name"),
        session_fallback=("copilot_chat.session_id", "copilot_chat.chat_session_id"),
    )
