"""Vercel AI SDK `experimental_telemetry` spans: parents repeat totals, doGenerate/doStream are calls.

Attribute names from ai-sdk.dev/docs/ai-sdk-core/telemetry (v4 `promptTokens`), the SDK source
for v5/v6 (`inputTokens`, `cachedInputTokens`, `inputTokenDetails.*`, `outputTokenDetails.*`).
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bridge.mapping import map_traces
from bridge.model import Tokens
from bridge.receive.decode import decode_json
from tests.support.adapters import TRACE_ID, call_of_span, only_call, span, traces
from tests.support.otlp import json_span, json_traces
from tests.support.payloads.vercel_ai import BASE, RESOURCE, SCOPE, V6_USAGE

V6_EXPECTED = Tokens(input=1500, output=700, cache_read=8000, cache_write=500, reasoning=200)


def stream_text_trace(step: dict[str, Any]) -> ExportTraceServiceRequest:
    parent = {
        **BASE,
        **step,
        "ai.operationId": "ai.streamText",
        "operation.name": "ai.streamText answer-ticket",
    }
    child = {
        **BASE,
        **step,
        "ai.operationId": "ai.streamText.doStream",
        "operation.name": "ai.streamText.doStream answer-ticket",
        "ai.response.id": "msg_01VercelStep1",
        "ai.response.model": "claude-sonnet-4-5-20250929",
        "gen_ai.system": "anthropic.messages",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.response.model": "claude-sonnet-4-5-20250929",
        "gen_ai.response.id": "msg_01VercelStep1",
        "gen_ai.usage.input_tokens": step.get("ai.usage.inputTokens"),
        "gen_ai.usage.output_tokens": step.get("ai.usage.outputTokens"),
        "gen_ai.response.finish_reasons": ["tool-calls"],
    }
    tool = {"ai.operationId": "ai.toolCall", "ai.toolCall.name": "lookup", "ai.toolCall.id": "call_1"}
    return traces(
        RESOURCE,
        [
            span("ai.streamText", parent, "5000000000000001", duration_ms=9000),
            span("ai.streamText.doStream", child, "5000000000000002", parent="5000000000000001"),
            span("ai.toolCall", tool, "5000000000000003", parent="5000000000000001"),
        ],
        scope=SCOPE,
    )


def test_parent_repeating_totals_and_tool_spans_are_ignored() -> None:
    result = map_traces(stream_text_trace(V6_USAGE))
    call = only_call(result)
    assert result.ignored == 2
    assert call.span_id == "5000000000000002"
    assert call.tokens == V6_EXPECTED
    assert (call.model, call.request_model, call.provider, call.source) == (
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-5",
        "anthropic",
        "vercel-ai",
    )
    assert (call.identity.user_id, call.identity.session_id, call.identity.harness_name) == (
        "fay@example.com",
        "ticket-4711",
        "support-bot",
    )
    assert call.dedup_key == "resp:msg_01VercelStep1"
    assert call.finish_reasons == ["tool-calls"]


def test_v6_without_no_cache_detail_subtracts_the_parts_from_the_total() -> None:
    usage = {k: v for k, v in V6_USAGE.items() if not k.endswith("noCacheTokens")}
    call = only_call(map_traces(stream_text_trace(usage)))
    assert call.tokens == V6_EXPECTED


def test_v5_anthropic_input_is_fresh_only_and_openai_includes_cached() -> None:
    anthropic = {
        "ai.usage.inputTokens": 3200,
        "ai.usage.cachedInputTokens": 1000,
        "ai.usage.outputTokens": 90,
    }
    call = only_call(map_traces(stream_text_trace(anthropic)))
    assert call.tokens == Tokens(input=3200, output=90, cache_read=1000)
    openai = {
        "ai.operationId": "ai.generateText.doGenerate",
        "ai.model.id": "gpt-4o",
        "ai.model.provider": "openai.responses",
        "ai.usage.inputTokens": "5000",
        "ai.usage.cachedInputTokens": 4000,
        "ai.usage.outputTokens": 120.0,
        "ai.usage.reasoningTokens": 64,
    }
    call = call_of_span(RESOURCE, "ai.generateText.doGenerate", openai)
    assert (call.tokens, call.provider) == (
        Tokens(input=1000, output=120, cache_read=4000, reasoning=64),
        "openai",
    )


def test_v4_prompt_tokens_and_embeddings() -> None:
    v4 = {
        "operation.name": "ai.generateObject.doGenerate my-fn",
        "ai.model.id": "gpt-4-turbo",
        "ai.model.provider": "openai.chat",
        "ai.usage.promptTokens": 210,
        "ai.usage.completionTokens": 33,
        "gen_ai.usage.prompt_tokens": 210,
        "gen_ai.usage.completion_tokens": 33,
    }
    call = call_of_span(RESOURCE, "ai.generateObject.doGenerate my-fn", v4)
    assert call.tokens == Tokens(input=210, output=33)
    embed = {
        "ai.operationId": "ai.embedMany.doEmbed",
        "ai.model.id": "text-embedding-3-small",
        "ai.model.provider": "openai.embedding",
        "ai.usage.tokens": 4096,
    }
    call = call_of_span(RESOURCE, "ai.embedMany.doEmbed", embed)
    assert (call.tokens, call.operation, call.provider) == (Tokens(input=4096), "embeddings", "openai")


def test_rejection_names_the_model_attributes() -> None:
    attrs = {
        "ai.operationId": "ai.generateText.doGenerate",
        "ai.usage.inputTokens": 10,
        "ai.usage.outputTokens": 1,
    }
    result = map_traces(traces(RESOURCE, [span("ai.generateText.doGenerate", attrs, "6000000000000001")]))
    assert "'ai.model.id'" in result.rejections[0].reason


def test_otlp_json_body_through_decode_json() -> None:
    child = {**BASE, **V6_USAGE, "ai.operationId": "ai.streamText.doStream"}
    parent = {**BASE, **V6_USAGE, "ai.operationId": "ai.streamText"}
    spans = [
        json_span(TRACE_ID, "7000000000000001", "ai.streamText", parent),
        json_span(
            TRACE_ID, "7000000000000002", "ai.streamText.doStream", child, parent_span_id="7000000000000001"
        ),
    ]
    result = map_traces(
        decode_json(json.dumps(json_traces(RESOURCE, spans)).encode(), ExportTraceServiceRequest)
    )
    assert only_call(result).tokens == V6_EXPECTED
