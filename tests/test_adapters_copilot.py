"""GitHub Copilot Chat: `invoke_agent copilot` > `chat {model}` spans and the inference event.

Attributes from microsoft/vscode extensions/copilot/docs/monitoring/agent_monitoring.md.
"""

from __future__ import annotations

from bridge.mapping import map_logs, map_traces
from bridge.model import Tokens
from tests.support.adapters import log, logs, only_call, span, traces

RESOURCE = {"service.name": "copilot-chat", "service.version": "0.33.1", "process.user.name": "ivy"}
CONVERSATION = {"gen_ai.conversation.id": "a1b2c3d4-conv", "copilot_chat.session_id": "a1b2c3d4-conv"}
CHAT = {
    **CONVERSATION,
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "github",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.response.id": "chatcmpl-abc123",
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.usage.input_tokens": 1500,
    "gen_ai.usage.output_tokens": 250,
    "gen_ai.usage.cache_read.input_tokens": 1200,
    "gen_ai.usage.reasoning.output_tokens": 64,
    "copilot_chat.request.max_prompt_tokens": 128000,
    "copilot_chat.time_to_first_token": 450,
    "server.address": "api.github.com",
}
AGENT = {
    **CONVERSATION,
    "gen_ai.operation.name": "invoke_agent",
    "gen_ai.provider.name": "github",
    "gen_ai.agent.name": "copilot",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 12500,
    "gen_ai.usage.output_tokens": 3200,
    "github.copilot.agent.type": "builtin",
    "copilot_chat.turn_count": 4,
    "user.name": "ivy-gh",
}


def test_invoke_agent_totals_ignored_chat_span_is_the_call() -> None:
    spans = [
        span("invoke_agent copilot", AGENT, "b000000000000001", duration_ms=15000),
        span("chat gpt-4o", CHAT, "b000000000000002", parent="b000000000000001"),
        span(
            "execute_tool readFile",
            {**CONVERSATION, "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "readFile"},
            "b000000000000003",
            parent="b000000000000001",
        ),
        span(
            "execute_hook PreToolUse",
            {**CONVERSATION, "gen_ai.operation.name": "execute_hook"},
            "b000000000000004",
            parent="b000000000000001",
        ),
    ]
    result = map_traces(traces(RESOURCE, spans, scope="copilot-chat"))
    call = only_call(result)
    assert result.ignored == 3
    assert call.tokens == Tokens(input=300, output=250, cache_read=1200, reasoning=64)
    assert (call.source, call.provider, call.model) == ("copilot", "github", "gpt-4o-2024-08-06")
    ident = call.identity
    # The OS login of the resource is not the user: the chat inherits invoke_agent's user.name.
    assert (ident.harness_name, ident.session_id, ident.user_id) == ("copilot", "a1b2c3d4-conv", None)
    assert call.parent_span_id == "b000000000000001"
    links = {ctx.span_id: ctx for ctx in result.contexts}
    assert links["b000000000000001"].identity.user_id == "ivy-gh"
    assert links["b000000000000001"].parent_span_id is None
    assert links["b000000000000002"].parent_span_id == "b000000000000001"  # the chat, as a link


def test_the_resource_session_is_the_window_not_the_conversation() -> None:
    chat = {k: v for k, v in CHAT.items() if k not in CONVERSATION}
    resource = {**RESOURCE, "session.id": "window-1"}
    call = only_call(map_traces(traces(resource, [span("chat gpt-4o", chat, "b000000000000006")])))
    assert call.identity.session_id is None


def test_inference_event_for_the_same_request_shares_the_span_key() -> None:
    span_call = only_call(map_traces(traces(RESOURCE, [span("chat gpt-4o", CHAT, "b000000000000005")])))
    event = {k: v for k, v in CHAT.items() if k.startswith("gen_ai.") and k != "gen_ai.provider.name"}
    event_call = only_call(
        map_logs(logs(RESOURCE, [log(event, event_name="gen_ai.client.inference.operation.details")]))
    )
    assert span_call.dedup_key == event_call.dedup_key == "resp:chatcmpl-abc123"
