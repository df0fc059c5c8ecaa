"""Claude Code: `claude_code.api_request` / `api_error` log events and `claude_code.llm_request` spans.

Payload shapes follow Anthropic's monitoring reference and live captures (body
`claude_code.api_request`, bare `event.name`, scope `com.anthropic.claude_code.events`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from bridge.mapping import map_logs, map_traces
from bridge.model import Tokens
from bridge.receive.decode import decode_json
from tests.support.adapters import call_of_log, call_of_span, log, logs, only_call, span, traces
from tests.support.otlp import NOW_NS, json_log, json_logs
from tests.support.payloads.claude_code import API_REQUEST, EVENTS_SCOPE, LLM_REQUEST_SPAN, RESOURCE, STANDARD

EXPECTED_TOKENS = Tokens(input=12, output=845, cache_read=48210, cache_write=3120)


def api_request_log(attrs: dict[str, Any], **kw: Any) -> ExportLogsServiceRequest:
    return logs(RESOURCE, [log(attrs, body="claude_code.api_request", **kw)], scope=EVENTS_SCOPE)


def test_api_request_event_is_one_call_with_exact_buckets_and_identity() -> None:
    call = only_call(map_logs(api_request_log(API_REQUEST)))
    assert call.tokens == EXPECTED_TOKENS, "input_tokens excludes the cache buckets"
    assert call.tokens.total == 12 + 845 + 48210 + 3120
    assert (call.model, call.provider, call.source, call.signal) == (
        "claude-sonnet-4-5-20250929",
        "anthropic",
        "claude-code",
        "log",
    )
    ident = call.identity
    assert (ident.user_id, ident.session_id, ident.harness_name, ident.harness_version) == (
        "ana@example.com",
        "cec62d6f-60f8-43e8-a67b-133b2a138a83",
        "claude-code",
        "2.1.289",
    )
    assert call.reported.total == Decimal("0.0361785")
    assert call.duration_ms == 4210
    assert call.dedup_key == "claude-code:req:req_011CbtJR1bZ4uLs3hmdd96uE"
    assert call.event_id == "req_011CbtJR1bZ4uLs3hmdd96uE"
    assert call.status == "ok"
    assert call.attributes["speed"] == "normal", "fast mode is kept for pricing"


def test_llm_request_span_is_the_same_call_as_the_log_event() -> None:
    log_call = only_call(map_logs(api_request_log(API_REQUEST)))
    span_call = call_of_span(RESOURCE, "claude_code.llm_request", LLM_REQUEST_SPAN)
    assert span_call.dedup_key == log_call.dedup_key
    assert span_call.tokens == EXPECTED_TOKENS
    assert (span_call.signal, span_call.provider, span_call.stop_reason) == ("trace", "anthropic", "tool_use")
    assert span_call.finish_reasons == ["tool_use"]
    assert span_call.identity.user_id == "ana@example.com"
    assert span_call.duration_ms == 2000


def test_without_request_id_log_and_span_share_the_usage_fingerprint() -> None:
    bedrock_model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    log_attrs = {k: v for k, v in API_REQUEST.items() if k != "request_id"} | {"model": bedrock_model}
    span_attrs = {k: v for k, v in LLM_REQUEST_SPAN.items() if k != "request_id"} | {"model": bedrock_model}
    log_call = only_call(map_logs(api_request_log(log_attrs)))
    span_call = call_of_span(RESOURCE, "claude_code.llm_request", span_attrs)
    assert log_call.dedup_key == span_call.dedup_key
    assert log_call.dedup_key.startswith("claude-code:cec62d6f-60f8-43e8-a67b-133b2a138a83:")
    assert log_call.provider == span_call.provider == "aws.bedrock"
    other = only_call(map_logs(api_request_log(log_attrs | {"output_tokens": 846})))
    assert other.dedup_key != log_call.dedup_key


def test_resent_export_and_full_event_name_map_to_the_same_key() -> None:
    first = only_call(map_logs(api_request_log(API_REQUEST)))
    again = only_call(map_logs(api_request_log(API_REQUEST)))
    # Some pipelines rewrite event.name to the qualified name and drop the body.
    renamed = call_of_log(RESOURCE, API_REQUEST | {"event.name": "claude_code.api_request"})
    assert first.dedup_key == again.dedup_key == renamed.dedup_key


def test_api_error_is_a_zero_token_error_row() -> None:
    attrs = {
        **STANDARD,
        "event.name": "api_error",
        "event.sequence": 18,
        "model": "claude-opus-4-1-20250805",
        "error": "529 {'type':'error','error':{'type':'overloaded_error','message':'Overloaded'}}",
        "status_code": "529",
        "duration_ms": "1200",
        "attempt": 2,
    }
    result = map_logs(logs(RESOURCE, [log(attrs, body="claude_code.api_error")]))
    call = only_call(result)
    assert (call.status, call.tokens, call.reported.total) == ("error", Tokens(), None)
    assert call.error is not None and call.error.startswith("529")
    assert call.dedup_key == "claude-code:error:cec62d6f-60f8-43e8-a67b-133b2a138a83:18"
    assert call.duration_ms == 1200


def test_other_events_and_framing_spans_are_ignored_not_rejected() -> None:
    records = [
        log({**STANDARD, "event.name": name, "tool_name": "Bash"}, body=f"claude_code.{name}")
        for name in ("user_prompt", "tool_result", "tool_decision", "assistant_response")
    ]
    result = map_logs(logs(RESOURCE, records))
    assert (result.calls, result.rejections, result.ignored) == ([], [], 4)
    spans = [
        span("claude_code.interaction", {**STANDARD, "user_prompt": "<REDACTED>"}, "a1b2c3d4e5f60718"),
        span("claude_code.tool", {**STANDARD, "tool_name": "Bash"}, "c3d4e5f607182930"),
        span("claude_code.tool.execution", {**STANDARD, "success": True}, "e5f6071829304152"),
        # A request that failed after its retries: the api_error events already count it.
        span(
            "claude_code.llm_request",
            {
                **LLM_REQUEST_SPAN,
                "success": False,
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_read_tokens": 0,
                "cache_creation_tokens": 0,
            },
            "b2c3d4e5f6071829",
        ),
    ]
    result = map_traces(traces(RESOURCE, spans))
    assert (result.calls, result.rejections, result.ignored) == ([], [], 4)


def test_rejections_name_the_attribute() -> None:
    no_model = {k: v for k, v in API_REQUEST.items() if k != "model"}
    result = map_logs(api_request_log(no_model))
    assert "'model'" in result.rejections[0].reason
    result = map_logs(api_request_log(API_REQUEST | {"cache_read_tokens": "lots"}))
    assert "'cache_read_tokens'" in result.rejections[0].reason
    result = map_logs(api_request_log(API_REQUEST | {"output_tokens": -3}))
    assert "'output_tokens'" in result.rejections[0].reason
    result = map_logs(api_request_log(API_REQUEST | {"cost_usd": -0.5}))
    assert "'cost_usd'" in result.rejections[0].reason


def test_agent_extension_records_under_the_claude_service_are_left_to_the_conventions() -> None:
    attrs = {
        "event.name": "api_request",
        "agent.event.kind": "model_call",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 5,
    }
    call = call_of_log(RESOURCE, attrs)
    assert call.source == "otel-genai-event"


def test_otlp_json_body_through_decode_json() -> None:
    record = json_log(API_REQUEST | {"cost_usd": 0.5}, time_ns=NOW_NS, body="claude_code.api_request")
    body = json.dumps(json_logs(RESOURCE, [record])).encode()
    call = only_call(map_logs(decode_json(body, ExportLogsServiceRequest)))
    assert call.tokens == EXPECTED_TOKENS
    assert call.reported.total == Decimal("0.5")
    assert call.dedup_key == "claude-code:req:req_011CbtJR1bZ4uLs3hmdd96uE"


def test_cost_usd_micros_is_the_exact_reported_cost_and_wins_over_the_float() -> None:
    """Current Claude Code sends `cost_usd_micros` (integer micro-dollars, int or string)."""
    for micros in (36179, "36179"):
        call = only_call(map_logs(api_request_log(API_REQUEST | {"cost_usd_micros": micros})))
        assert call.reported.total == Decimal("0.036179"), "micros win over cost_usd=0.0361785"
    alone = {k: v for k, v in API_REQUEST.items() if k != "cost_usd"} | {"cost_usd_micros": "1234567890"}
    assert only_call(map_logs(api_request_log(alone))).reported.total == Decimal("1234.56789")
    zero = only_call(map_logs(api_request_log(API_REQUEST | {"cost_usd_micros": 0})))
    assert zero.reported.total == Decimal(0)
    span_call = call_of_span(
        RESOURCE, "claude_code.llm_request", LLM_REQUEST_SPAN | {"cost_usd_micros": "500"}
    )
    assert span_call.reported.total == Decimal("0.0005")
    explicit = API_REQUEST | {"cost_usd_micros": 1, "agent.cost.total.usd": 2.5}
    assert only_call(map_logs(api_request_log(explicit))).reported.total == Decimal("2.5")


def test_bad_cost_usd_micros_is_rejected_naming_the_attribute() -> None:
    for bad in (-5, "12.5", "lots", True, "nan"):
        result = map_logs(api_request_log(API_REQUEST | {"cost_usd_micros": bad}))
        assert "'cost_usd_micros'" in result.rejections[0].reason, bad


def test_claude_code_desktop_is_claude_code_with_the_variant_kept_in_attributes() -> None:
    desktop = RESOURCE | {"service.name": "claude-code-desktop"}
    # Bare event name, no body: trusted because the service is a Claude Code process.
    call = call_of_log(desktop, API_REQUEST)
    assert (call.source, call.identity.harness_name) == ("claude-code", "claude-code")
    assert call.attributes["service.name"] == "claude-code-desktop"
    span_call = call_of_span(desktop, "claude_code.llm_request", LLM_REQUEST_SPAN)
    assert span_call.identity.harness_name == "claude-code"
    assert span_call.attributes["service.name"] == "claude-code-desktop"
    assert span_call.dedup_key == call.dedup_key
    cli = only_call(map_logs(api_request_log(API_REQUEST)))
    assert "service.name" not in cli.attributes, "the plain CLI row is unchanged"


def test_subagent_skill_plugin_and_request_context_are_kept_in_attributes() -> None:
    """'Which subagent or skill costs what': the current api_request fields reach the row's
    attributes (content-free), and none of them changes the dedup key."""
    extra = {
        "agent.name": "code-reviewer",
        "skill.name": "pdf",
        "plugin.name": "document-skills",
        "mcp_server.name": "github",
        "query_source": "agent:custom",
        "effort": "high",
        "client_request_id": "3f1c9d2e-5a47-4b80-9c16-8e2d7a4f6b03",
        "user.account_id": "user_01ABCDEFGHJKMNPQRSTVWXYZ0",
        "cost_usd_micros": "36179",
    }
    call = only_call(map_logs(api_request_log(API_REQUEST | extra)))
    for key, value in extra.items():
        assert call.attributes[key] == value, key
    assert call.dedup_key == "claude-code:req:req_011CbtJR1bZ4uLs3hmdd96uE"
    assert call.identity.user_id == "ana@example.com", "user.email still names the user"
    alone = {k: v for k, v in API_REQUEST.items() if k not in ("user.email", "user.id", "user.account_uuid")}
    tagged = only_call(map_logs(api_request_log(alone | {"user.account_id": extra["user.account_id"]})))
    assert tagged.identity.user_id == "user_01ABCDEFGHJKMNPQRSTVWXYZ0"
