"""OpenTelemetry GenAI conventions (spans and the inference event) and the `agent.*` extension.

Attribute names from semantic-conventions docs/registry/attributes/gen-ai.md: input tokens
SHOULD include cached tokens; `cache_creation` is renamed `cache_write` on main.
"""

from __future__ import annotations

import json
from decimal import Decimal

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bridge.mapping import map_logs, map_traces
from bridge.model import Tokens
from bridge.receive.decode import decode_json
from tests.support.adapters import TRACE_ID, call_of_span, log, logs, only_call, span, traces
from tests.support.otlp import json_span, json_traces

RESOURCE = {"service.name": "my-agent", "service.version": "1.2.0", "user.email": "eve@example.com"}
CURRENT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.response.model": "claude-sonnet-4-5-20250929",
    "gen_ai.response.id": "msg_01Aq9w938a90dw8q",
    "gen_ai.usage.input_tokens": 1200,  # includes the cache buckets
    "gen_ai.usage.cache_read.input_tokens": 1000,
    "gen_ai.usage.cache_write.input_tokens": 100,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.reasoning.output_tokens": 50,
    "gen_ai.conversation.id": "conv-7",
}


def test_current_names_give_disjoint_buckets() -> None:
    call = call_of_span(RESOURCE, "chat claude-sonnet-4-5", CURRENT)
    assert call.tokens == Tokens(input=100, output=300, cache_read=1000, cache_write=100, reasoning=50)
    assert (call.model, call.request_model, call.provider) == (
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-5",
        "anthropic",
    )
    assert (call.identity.user_id, call.identity.session_id, call.identity.harness_name) == (
        "eve@example.com",
        "conv-7",
        "my-agent",
    )
    assert call.dedup_key == "resp:msg_01Aq9w938a90dw8q"


def test_released_cache_creation_spelling_and_deprecated_names() -> None:
    released = {k: v for k, v in CURRENT.items() if k != "gen_ai.usage.cache_write.input_tokens"}
    released["gen_ai.usage.cache_creation.input_tokens"] = 100
    assert call_of_span(RESOURCE, "chat", released).tokens.cache_write == 100
    deprecated = {
        "gen_ai.system": "openai",
        "gen_ai.operation.name": "text_completion",
        "gen_ai.request.model": "gpt-4.1",
        "gen_ai.usage.prompt_tokens": "500",  # string
        "gen_ai.usage.completion_tokens": 20.0,  # double
    }
    call = call_of_span(RESOURCE, "text_completion gpt-4.1", deprecated)
    assert (call.tokens, call.provider, call.operation) == (
        Tokens(input=500, output=20),
        "openai",
        "text_completion",
    )
    assert call.dedup_key == f"span:{TRACE_ID}:00f067aa0ba902b7"


def test_generate_content_is_a_call_and_agent_tool_spans_are_not() -> None:
    gemini = {
        "gen_ai.operation.name": "generate_content",
        "gen_ai.provider.name": "gcp.vertex_ai",
        "gen_ai.request.model": "gemini-2.5-flash",
        "gen_ai.usage.input_tokens": 800,
        "gen_ai.usage.output_tokens": 90,
    }
    spans = [
        span("invoke_agent planner", {**gemini, "gen_ai.operation.name": "invoke_agent"}, "1000000000000001"),
        span("generate_content gemini-2.5-flash", gemini, "1000000000000002", parent="1000000000000001"),
        span("execute_tool grep", {"gen_ai.operation.name": "execute_tool"}, "1000000000000003"),
    ]
    result = map_traces(traces(RESOURCE, spans))
    call = only_call(result)
    assert (call.span_id, call.provider, result.ignored) == ("1000000000000002", "gcp.vertex_ai", 2)


def test_inference_event_and_its_span_are_one_call() -> None:
    event = log(CURRENT | {"event.name": "gen_ai.client.inference.operation.details"})
    event_call = only_call(map_logs(logs(RESOURCE, [event])))
    span_call = call_of_span(RESOURCE, "chat", CURRENT)
    assert event_call.dedup_key == span_call.dedup_key == "resp:msg_01Aq9w938a90dw8q"
    # Without a response id, the event emitted inside the span carries the span's context.
    bare = {k: v for k, v in CURRENT.items() if k != "gen_ai.response.id"}
    inside = log(
        bare,
        event_name="gen_ai.client.inference.operation.details",
        trace_id=TRACE_ID,
        span_id="00f067aa0ba902b7",
    )
    assert (
        only_call(map_logs(logs(RESOURCE, [inside]))).dedup_key
        == call_of_span(RESOURCE, "chat", bare).dedup_key
    )


def test_replayed_spans_of_one_response_are_one_key() -> None:
    """A sub-agent replayed into a forked session re-emits its calls with new span ids."""
    first = map_traces(traces(RESOURCE, [span("chat", CURRENT, "2000000000000001")]))
    replay = map_traces(traces(RESOURCE, [span("chat", CURRENT, "2000000000000002", trace_id="ab" * 16)]))
    assert only_call(first).dedup_key == only_call(replay).dedup_key


def test_agent_extension_input_excludes_cache_and_content_blocks_share_the_message_id() -> None:
    resource = {"service.name": "pi", "agent.harness.name": "pi", "agent.user.id": "bo@example.com"}
    record = {
        "agent.event.kind": "model_call",
        "agent.event.id": "evt-1",
        "agent.session.id": "s-9",
        "gen_ai.request.model": "claude-opus-4-1",
        "gen_ai.response.id": "msg_01Shared",
        "gen_ai.usage.input_tokens": 40,  # excludes cache in the agent.* namespace
        "gen_ai.usage.cache_read.input_tokens": 2000,
        "gen_ai.usage.cache_creation.input_tokens": 500,
        "agent.usage.cache_write_1h.input_tokens": 200,
        "gen_ai.usage.output_tokens": 120,
        "agent.cost.total.usd": 0.0417,
        "agent.cost.estimation": "metered",
    }
    # A transcript reader emits one record per content block of the same assistant message.
    blocks = [log(record), log(record | {"agent.event.id": "evt-2"})]
    result = map_logs(logs(resource, blocks))
    assert len({c.dedup_key for c in result.calls}) == 1
    call = result.calls[0]
    assert call.tokens == Tokens(input=40, output=120, cache_read=2000, cache_write=500, cache_write_1h=200)
    assert (call.identity.user_id, call.identity.session_id, call.identity.harness_name) == (
        "bo@example.com",
        "s-9",
        "pi",
    )
    assert (call.reported.total, call.reported.estimation) == (Decimal("0.0417"), "metered")
    assert call.event_id == "evt-1"


def test_input_smaller_than_cache_is_evidently_exclusive() -> None:
    attrs = CURRENT | {"gen_ai.usage.input_tokens": 7}
    assert call_of_span(RESOURCE, "chat", attrs).tokens.input == 7


def test_rejections_name_the_attribute() -> None:
    no_model = {k: v for k, v in CURRENT.items() if not k.endswith("model")}
    result = map_traces(traces(RESOURCE, [span("chat", no_model, "3000000000000001")]))
    assert "gen_ai.request.model" in result.rejections[0].reason
    bad = CURRENT | {"gen_ai.usage.reasoning.output_tokens": True}
    result = map_traces(traces(RESOURCE, [span("chat", bad, "3000000000000002")]))
    assert "'gen_ai.usage.reasoning.output_tokens'" in result.rejections[0].reason


def test_otlp_json_body_through_decode_json() -> None:
    body = json.dumps(
        json_traces(RESOURCE, [json_span(TRACE_ID, "4000000000000001", "chat", CURRENT)])
    ).encode()
    call = only_call(map_traces(decode_json(body, ExportTraceServiceRequest)))
    assert call.tokens == Tokens(input=100, output=300, cache_read=1000, cache_write=100, reasoning=50)
