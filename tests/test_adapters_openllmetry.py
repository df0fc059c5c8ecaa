"""OpenLLMetry / Traceloop spans: `llm.request.type`, `gen_ai.usage.prompt_tokens` and friends.

Attribute names from opentelemetry-semantic-conventions-ai; the Anthropic instrumentation sets
prompt tokens to input + cache_read + cache_creation.
"""

from __future__ import annotations

from bridge.mapping import map_traces
from bridge.model import Tokens
from tests.support.adapters import call_of_span, only_call, span, traces

RESOURCE = {"service.name": "triage-worker"}
ANTHROPIC_CHAT = {
    "llm.request.type": "chat",
    "gen_ai.system": "Anthropic",
    "gen_ai.request.model": "claude-3-5-haiku-latest",
    "gen_ai.response.model": "claude-3-5-haiku-20241022",
    "gen_ai.response.id": "msg_01Traceloop",
    "gen_ai.usage.prompt_tokens": 5000,  # 200 fresh + 4500 cache read + 300 cache creation
    "gen_ai.usage.cache_read_input_tokens": 4500,
    "gen_ai.usage.cache_creation_input_tokens": 300,
    "gen_ai.usage.completion_tokens": 250,
    "llm.usage.total_tokens": 5250,
    "traceloop.association.properties.user_id": "hal@example.com",
    "traceloop.association.properties.session_id": "case-88",
    "gen_ai.prompt.0.content": "secret",
}


def test_chat_span_under_workflow_and_task_spans_is_one_call() -> None:
    spans = [
        span(
            "triage.workflow",
            {"traceloop.span.kind": "workflow", "traceloop.entity.name": "triage"},
            "9000000000000001",
        ),
        span(
            "classify.task",
            {"traceloop.span.kind": "task", "llm.usage.total_tokens": 5250},
            "9000000000000002",
            parent="9000000000000001",
        ),
        span("anthropic.chat", ANTHROPIC_CHAT, "9000000000000003", parent="9000000000000002"),
    ]
    result = map_traces(traces(RESOURCE, spans, scope="opentelemetry.instrumentation.anthropic"))
    call = only_call(result)
    assert result.ignored == 2
    assert call.tokens == Tokens(input=200, output=250, cache_read=4500, cache_write=300)
    assert (call.model, call.provider, call.operation, call.source) == (
        "claude-3-5-haiku-20241022",
        "anthropic",
        "chat",
        "openllmetry",
    )
    assert (call.identity.user_id, call.identity.session_id) == ("hal@example.com", "case-88")
    assert call.dedup_key == "resp:msg_01Traceloop"
    assert "gen_ai.prompt.0.content" not in call.attributes


def test_legacy_llm_usage_names_and_string_counts() -> None:
    legacy = {
        "llm.request.type": "completion",
        "llm.vendor": "OpenAI",
        "gen_ai.request.model": "gpt-3.5-turbo-instruct",
        "llm.usage.prompt_tokens": "120",
        "llm.usage.completion_tokens": 30.0,
        "llm.usage.total_tokens": 150,
    }
    call = call_of_span(RESOURCE, "openai.completion", legacy)
    assert (call.tokens, call.provider, call.operation) == (
        Tokens(input=120, output=30),
        "openai",
        "completion",
    )


def test_rejection_names_the_attribute() -> None:
    result = map_traces(
        traces(
            RESOURCE,
            [
                span(
                    "anthropic.chat",
                    ANTHROPIC_CHAT | {"gen_ai.usage.completion_tokens": "many"},
                    "9000000000000009",
                )
            ],
        )
    )
    assert "'gen_ai.usage.completion_tokens'" in result.rejections[0].reason
