"""OpenAI Codex CLI: `codex.sse_event` records of kind `response.completed`.

Payloads follow codex-rs/otel: the `log_event!` metadata (conversation.id, app.version,
auth_mode, user.account_id, user.email, terminal.type, model, slug, event.timestamp) and
`sse_event_completed`, whose `%`-formatted counts arrive as strings.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from bridge.mapping import map_logs, map_traces
from bridge.model import Tokens
from bridge.receive.decode import decode_json
from tests.support.adapters import log, logs, only_call, span, traces
from tests.support.otlp import json_log, json_logs
from tests.support.payloads.codex import COMPLETED, METADATA, RESOURCE


def codex_logs(*records: dict[str, Any]) -> ExportLogsServiceRequest:
    return logs(RESOURCE, [log(attrs) for attrs in records], scope="codex_otel")


def test_response_completed_is_one_call_with_exact_buckets() -> None:
    call = only_call(map_logs(codex_logs(COMPLETED)))
    assert call.tokens == Tokens(input=3000, output=800, cache_read=9000, reasoning=300)
    assert (call.model, call.provider, call.source) == ("gpt-5-codex", "openai", "codex")
    ident = call.identity
    assert (ident.user_id, ident.session_id, ident.harness_name, ident.harness_version) == (
        "cy@example.com",
        "0199a213-81c0-7800-8aa1-bbab2a035a53",
        "codex",
        "0.46.0",
    )
    assert ident.environment == "dev", "[otel] environment arrives as the `env` resource attribute"
    assert call.reported.estimation == "subscription", "auth_mode=chatgpt rides a ChatGPT plan"
    assert call.reported.total is None
    assert call.dedup_key.startswith("codex:0199a213-81c0-7800-8aa1-bbab2a035a53:")


def test_counts_as_int_double_or_string_are_the_same_call() -> None:
    as_numbers = COMPLETED | {"input_token_count": 12000, "output_token_count": 800.0}
    as_strings = COMPLETED | {"cached_token_count": "9000", "reasoning_token_count": "300"}
    calls = [only_call(map_logs(codex_logs(attrs))) for attrs in (COMPLETED, as_numbers, as_strings)]
    assert {c.tokens.input for c in calls} == {3000}
    assert {c.tokens.output for c in calls} == {800}


def test_resend_is_the_same_key_and_a_later_response_is_not() -> None:
    first = only_call(map_logs(codex_logs(COMPLETED)))
    again = only_call(map_logs(codex_logs(COMPLETED)))
    later = only_call(map_logs(codex_logs(COMPLETED | {"event.timestamp": "2026-01-02T10:00:07.001Z"})))
    assert first.dedup_key == again.dedup_key
    assert later.dedup_key != first.dedup_key


def test_api_key_auth_is_metered_and_cache_write_count_is_used_when_present() -> None:
    attrs = COMPLETED | {"auth_mode": "api_key", "cache_write_token_count": "1000"}
    call = only_call(map_logs(codex_logs(attrs)))
    assert call.reported.estimation == "metered"
    assert call.tokens == Tokens(input=2000, output=800, cache_read=9000, cache_write=1000, reasoning=300)


def test_other_codex_events_are_not_model_calls() -> None:
    others = [
        {**METADATA, "event.name": "codex.sse_event", "event.kind": "response.output_item.done"},
        {**METADATA, "event.name": "codex.sse_event", "event.kind": "response.created", "duration_ms": "3"},
        {
            **METADATA,
            "event.name": "codex.api_request",
            "attempt": 1,
            "duration_ms": "912",
            "http.response.status_code": 200,
        },
        {**METADATA, "event.name": "codex.tool_decision", "tool_name": "shell", "decision": "approved"},
        {**METADATA, "event.name": "codex.user_prompt", "prompt_length": "42", "prompt": "[REDACTED]"},
        # A completed event Codex could not parse: an error message and no counts.
        {
            **METADATA,
            "event.name": "codex.sse_event",
            "event.kind": "response.completed",
            "error.message": "failed to parse",
        },
    ]
    result = map_logs(codex_logs(*others))
    assert (result.calls, result.rejections, result.ignored) == ([], [], len(others))


def test_handle_responses_span_repeating_usage_is_ignored() -> None:
    attrs = {
        "gen_ai.usage.input_tokens": 12000,
        "gen_ai.usage.cache_read.input_tokens": 9000,
        "gen_ai.usage.output_tokens": 800,
        "codex.usage.reasoning_output_tokens": 300,
        "codex.usage.total_tokens": 12800,
        "from": "completed",
    }
    result = map_traces(traces(RESOURCE, [span("completed", attrs, "aaaaaaaaaaaaaaaa")]))
    assert (result.calls, result.rejections, result.ignored) == ([], [], 1)


def test_rejections_name_the_attribute() -> None:
    result = map_logs(codex_logs(COMPLETED | {"input_token_count": "12k"}))
    assert "'input_token_count'" in result.rejections[0].reason
    no_model = {k: v for k, v in COMPLETED.items() if k not in ("model", "slug")}
    result = map_logs(codex_logs(no_model))
    assert "'model'" in result.rejections[0].reason


def test_otlp_json_body_as_codex_posts_it_to_v1_logs() -> None:
    body = json.dumps(json_logs(RESOURCE, [json_log(COMPLETED)])).encode()
    call = only_call(map_logs(decode_json(body, ExportLogsServiceRequest)))
    assert call.tokens == Tokens(input=3000, output=800, cache_read=9000, reasoning=300)
