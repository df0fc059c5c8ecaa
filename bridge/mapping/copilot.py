"""GitHub Copilot (VS Code Copilot Chat and the Copilot CLI runtime): GenAI-convention spans.

Shapes from microsoft/vscode extensions/copilot/docs/monitoring/agent_monitoring.md and the
GitHub Copilot OpenTelemetry reference: an `invoke_agent copilot` span (agent totals, ignored)
wrapping `chat {model}` spans (one per LLM request) and `execute_tool` / `execute_hook` spans.
The `gen_ai.client.inference.operation.details` event for the same request carries the same
`gen_ai.response.id`, so the generic event adapter lands it on the span's row.

Chat spans carry no user, session, repository or branch: with identity capture on, Copilot puts
`user.name` (the GitHub login), `gen_ai.conversation.id` and the git remote/branch on the
`invoke_agent` span only, so a chat row inherits them from it through the trace context
(docs/sources.md "Trace context"), whichever arrives first. The resource's `session.id` is the
VS Code *window* and `process.user.name` the OS login: neither is taken for a chat row, or it
would hide the conversation and the GitHub user its invoke_agent names.
"""

from __future__ import annotations

from bridge.mapping.attributes import text
from bridge.mapping.identity import conversation_session
from bridge.mapping.records import SpanRecord
from bridge.mapping.semconv import map_genai_span
from bridge.model import ModelCall

SOURCE = "copilot"
HARNESS = "copilot"
NAMESPACES = frozenset({"copilot_chat.", "github.copilot."})  # in records.CLAIM_NAMESPACES


def claims(span: SpanRecord) -> bool:
    if span.service_harness == HARNESS:
        return True
    return not NAMESPACES.isdisjoint(span.namespaces) or text(span.attrs, "gen_ai.provider.name") == "github"


def map_span(span: SpanRecord) -> ModelCall | None:
    call = map_genai_span(span, source=SOURCE, default_harness=HARNESS, user_fallback=("user.name",))
    if call is not None:  # the conversation, from the span itself or its invoke_agent; never the window
        conversation_session(call.identity, span.attrs)
    return call
