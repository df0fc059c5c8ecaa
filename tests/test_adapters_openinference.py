"""OpenInference (Arize Phoenix) spans: only LLM / EMBEDDING spans are calls.

Attribute names from openinference-semantic-conventions `SpanAttributes`; the instrumentors'
tests assert `llm.token_count.prompt` = fresh + cache_write + cache_read.
"""

from __future__ import annotations

from decimal import Decimal

from bridge.mapping import map_traces
from bridge.model import Tokens
from tests.support.adapters import call_of_span, only_call, span, traces

RESOURCE = {"service.name": "rag-service", "openinference.project.name": "default"}
LLM = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "claude-3-7-sonnet-20250219",
    "llm.provider": "anthropic",
    "llm.system": "anthropic",
    "llm.token_count.prompt": 12,  # 9 fresh + 1 cache write + 2 cache read
    "llm.token_count.prompt_details.cache_write": 1,
    "llm.token_count.prompt_details.cache_read": 2,
    "llm.token_count.completion": 21,
    "llm.token_count.total": 33,
    "session.id": "thread-3",
    "user.id": "gus@example.com",
    "input.value": "secret question",
    "llm.input_messages.0.message.content": "secret question",
}
TOTALS = {"llm.token_count.prompt": 12, "llm.token_count.completion": 21, "llm.token_count.total": 33}


def test_llm_span_under_chain_and_agent_spans_repeating_totals_is_one_call() -> None:
    spans = [
        span("AgentExecutor", {"openinference.span.kind": "AGENT", **TOTALS}, "8000000000000001"),
        span(
            "RunnableSequence",
            {"openinference.span.kind": "CHAIN", **TOTALS},
            "8000000000000002",
            parent="8000000000000001",
        ),
        span("ChatAnthropic", LLM, "8000000000000003", parent="8000000000000002"),
        span(
            "search_docs", {"openinference.span.kind": "TOOL"}, "8000000000000004", parent="8000000000000001"
        ),
    ]
    result = map_traces(traces(RESOURCE, spans, scope="openinference.instrumentation.langchain"))
    call = only_call(result)
    assert result.ignored == 3
    assert call.tokens == Tokens(input=9, output=21, cache_read=2, cache_write=1)
    assert (call.model, call.provider, call.source) == (
        "claude-3-7-sonnet-20250219",
        "anthropic",
        "openinference",
    )
    assert (call.identity.user_id, call.identity.session_id) == ("gus@example.com", "thread-3")
    assert "input.value" not in call.attributes
    assert not any(k.startswith("llm.input_messages") for k in call.attributes)


def test_embedding_span_reasoning_string_counts_and_reported_cost() -> None:
    embedding = {
        "openinference.span.kind": "EMBEDDING",
        "embedding.model_name": "text-embedding-3-large",
        "llm.token_count.prompt": "2048",
        "llm.provider": "openai",
    }
    call = call_of_span(RESOURCE, "OpenAIEmbeddings", embedding)
    assert (call.tokens, call.operation, call.provider) == (Tokens(input=2048), "embeddings", "openai")
    reasoning = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "o3-mini",
        "llm.provider": "openai",
        "llm.token_count.prompt": 400.0,
        "llm.token_count.prompt_details.cache_read": 256,
        "llm.token_count.completion": 900,
        "llm.token_count.completion_details.reasoning": 640,
        "llm.cost.total": 0.00441,
    }
    call = call_of_span(RESOURCE, "ChatOpenAI", reasoning)
    assert call.tokens == Tokens(input=144, output=900, cache_read=256, reasoning=640)
    assert call.reported.total == Decimal("0.00441")


def test_rejection_names_the_model_attribute() -> None:
    attrs = {k: v for k, v in LLM.items() if k != "llm.model_name"}
    result = map_traces(traces(RESOURCE, [span("ChatAnthropic", attrs, "8000000000000009")]))
    assert "'llm.model_name'" in result.rejections[0].reason
