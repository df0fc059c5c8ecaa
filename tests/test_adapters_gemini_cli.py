"""Gemini CLI: `gemini_cli.api_response` records and the duplicate inference-details record.

Payloads follow packages/core/src/telemetry/types.ts: `ApiResponseEvent.toLogRecord` and
`toSemanticLogRecord` are both emitted by `logApiResponse` with the same `event.timestamp`.
"""

from __future__ import annotations

import json

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from bridge.mapping import map_logs, map_traces
from bridge.model import Tokens
from bridge.receive.decode import decode_json
from tests.support.adapters import log, logs, only_call, span, traces
from tests.support.otlp import json_log, json_logs
from tests.support.payloads.gemini_cli import (
    API_RESPONSE,
    COMMON,
    DETAILS,
    LLM_CALL_SPAN,
    RESOURCE,
    SCOPE,
    gemini_logs,
    gemini_traces,
)

EXPECTED = Tokens(input=4100, output=1700, cache_read=6000, reasoning=1200)


def test_api_response_buckets_thoughts_are_output_and_tool_tokens_are_input() -> None:
    call = only_call(map_logs(gemini_logs(API_RESPONSE)))
    assert call.tokens == EXPECTED
    assert call.tokens.total == API_RESPONSE["total_token_count"]
    assert (call.model, call.provider, call.source, call.operation) == (
        "gemini-2.5-pro",
        "gcp.gemini",
        "gemini-cli",
        "generate_content",
    )
    ident = call.identity
    assert (ident.user_id, ident.session_id, ident.harness_name, ident.harness_version) == (
        "dee@example.com",
        "9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
        "gemini-cli",
        "0.21.0",
    )
    assert call.reported.estimation == "metered"
    assert call.duration_ms == 5321
    assert call.finish_reasons == ["STOP"]


def test_the_two_records_of_one_call_are_one_row() -> None:
    result = map_logs(gemini_logs(API_RESPONSE, DETAILS))
    call = only_call(result)
    assert result.ignored == 1, "the inference-details duplicate is ignored, not rejected"
    assert call.tokens == EXPECTED, "and the undercounting duplicate never wins"


def test_details_record_is_recognised_as_gemini_cli_behind_a_renaming_collector() -> None:
    renamed = {"service.name": "otel-collector"}
    result = map_logs(logs(renamed, [log(DETAILS)], scope=SCOPE))
    assert (result.calls, result.ignored) == ([], 1)
    # The same event from any other emitter is an ordinary GenAI event.
    other = {k: v for k, v in DETAILS.items() if k != "installation.id"}
    call = only_call(map_logs(logs({"service.name": "my-agent"}, [log(other)])))
    assert call.source == "otel-genai-event"
    assert call.dedup_key == "resp:d3JpdGUgYSByZXNwb25zZSBpZA"


def test_resend_is_the_same_key_and_numbers_may_be_strings_or_doubles() -> None:
    first = only_call(map_logs(gemini_logs(API_RESPONSE)))
    typed = API_RESPONSE | {"input_token_count": "10000", "thoughts_token_count": 1200.0}
    again = only_call(map_logs(gemini_logs(typed)))
    assert again.tokens == EXPECTED
    assert first.dedup_key == again.dedup_key
    assert first.dedup_key.startswith("gemini-cli:9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b:")


def test_login_with_google_is_a_subscription_on_vertex() -> None:
    call = only_call(map_logs(gemini_logs(API_RESPONSE | {"auth_type": "oauth-personal"})))
    assert (call.provider, call.reported.estimation) == ("gcp.vertex_ai", "subscription")


def test_api_error_is_a_zero_token_error_row_and_other_events_are_ignored() -> None:
    error = {
        **COMMON,
        "event.name": "gemini_cli.api_error",
        "model": "gemini-2.5-pro",
        "error": "Resource has been exhausted (e.g. check quota).",
        "error.type": "RESOURCE_EXHAUSTED",
        "status_code": 429,
        "duration_ms": 800,
        "prompt_id": "p-4",
        "auth_type": "gemini-api-key",
    }
    others = [
        {**COMMON, "event.name": "gemini_cli.api_request", "model": "gemini-2.5-pro", "prompt_id": "p-4"},
        {**COMMON, "event.name": "gemini_cli.user_prompt", "prompt_length": 12, "prompt_id": "p-4"},
        {**COMMON, "event.name": "gemini_cli.tool_call", "function_name": "read_file", "duration_ms": 3},
    ]
    result = map_logs(gemini_logs(error, *others))
    call = only_call(result)
    assert (call.status, call.error, call.tokens) == ("error", "RESOURCE_EXHAUSTED", Tokens())
    assert result.ignored == 3


def test_rejections_name_the_attribute() -> None:
    result = map_logs(gemini_logs(API_RESPONSE | {"cached_content_token_count": 1.5}))
    assert "'cached_content_token_count'" in result.rejections[0].reason
    result = map_logs(gemini_logs({k: v for k, v in API_RESPONSE.items() if k != "model"}))
    assert "'model'" in result.rejections[0].reason


def test_otlp_json_body_through_decode_json() -> None:
    body = json.dumps(json_logs(RESOURCE, [json_log(API_RESPONSE), json_log(DETAILS)])).encode()
    result = map_logs(decode_json(body, ExportLogsServiceRequest))
    assert only_call(result).tokens == EXPECTED


def test_node_version_in_service_version_is_not_the_cli_version() -> None:
    """Older releases set service.version to Node's process.version."""
    call = only_call(
        map_logs(
            gemini_logs(API_RESPONSE, resource={"service.name": "gemini-cli", "service.version": "v20.19.0"})
        )
    )
    assert (call.identity.harness_name, call.identity.harness_version) == ("gemini-cli", None)


def test_llm_call_span_with_usage_is_not_a_second_call() -> None:
    """telemetry.traces on: the llm_call span repeats the call's usage; the log is what counts."""
    result = map_traces(gemini_traces())
    assert (result.calls, result.rejections, result.ignored) == ([], [], 1)
    # The traced log records (trace and span ids of the llm_call span) are still exactly one call.
    assert only_call(map_logs(gemini_logs(API_RESPONSE, DETAILS, traced=True))).tokens == EXPECTED


def test_llm_call_span_recognised_behind_a_renaming_collector() -> None:
    renamed = {"service.name": "otel-collector"}
    for request in (
        gemini_traces(resource=renamed),  # tracer scope and agent name remain
        traces(renamed, [span("llm_call", LLM_CALL_SPAN, "1c2d3e4f5a6b7c8d")]),  # agent name remains
        # A collector that renames the span: the CLI's operation and agent name remain.
        traces(RESOURCE, [span("generate_content gemini-2.5-pro", LLM_CALL_SPAN, "1c2d3e4f5a6b7c8d")]),
    ):
        result = map_traces(request)
        assert (result.calls, result.rejections, result.ignored) == ([], [], 1)


def test_a_span_named_llm_call_from_another_emitter_is_still_a_call() -> None:
    """The span name alone is not Gemini CLI: another service's llm_call with usage is counted."""
    attrs = {
        k: v for k, v in LLM_CALL_SPAN.items() if k not in ("gen_ai.agent.name", "gen_ai.agent.description")
    }
    attrs |= {"gen_ai.operation.name": "chat"}
    call = only_call(
        map_traces(traces({"service.name": "my-agent"}, [span("llm_call", attrs, "1c2d3e4f5a6b7c8d")]))
    )
    assert call.source == "otel-genai"
