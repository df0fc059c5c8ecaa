"""OpenAI Codex CLI: `codex.sse_event` records of kind `response.completed`.

Payloads follow codex-rs/otel: the `log_event!` metadata (conversation.id, app.version,
auth_mode, user.account_id, user.email, terminal.type, model, slug, event.timestamp) and
`sse_event_completed`, whose `%`-formatted counts arrive as strings, on the wire as Codex CLI
0.171.0 exports them (tests/support/payloads/codex.py): the callsite in LogRecord.event_name,
time_unix_nano 0, no trace or span id.
"""

from __future__ import annotations

import json

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from bridge.mapping import map_logs, map_traces
from bridge.mapping.records import ns_to_datetime
from bridge.model import Tokens
from bridge.receive.decode import decode_json
from tests.support.adapters import log, logs, only_call, span, traces
from tests.support.otlp import NOW_NS
from tests.support.payloads.codex import (
    CALLSITE,
    COMPLETED,
    CORPUS,
    EVENT_NS,
    EXEC_RESOURCE,
    HANDLE_RESPONSES_SPAN,
    METADATA,
    OBSERVED_NS,
    RESOURCE,
    SCOPE,
    codex_json_logs,
    codex_logs,
)

EXPECTED = Tokens(input=3000, output=800, cache_read=9000, reasoning=300)


def test_response_completed_is_one_call_with_exact_buckets() -> None:
    call = only_call(map_logs(codex_logs(COMPLETED)))
    assert call.tokens == EXPECTED
    assert (call.model, call.provider, call.source) == ("gpt-5-codex", "openai", "codex")
    ident = call.identity
    assert (ident.user_id, ident.session_id, ident.harness_name, ident.harness_version) == (
        "cy@example.com",
        "0199a213-81c0-7800-8aa1-bbab2a035a53",
        "codex",
        "0.171.0",
    )
    assert (call.trace_id, call.span_id) == (None, None), "empty ids are absent, not an error"
    assert call.ts == ns_to_datetime(EVENT_NS), "time_unix_nano is 0: event.timestamp is the time"
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


def test_recognised_by_the_event_name_attribute_not_the_callsite_field() -> None:
    """The event_name field is the callsite; the attribute names the event. Either may carry it."""
    by_field = logs(EXEC_RESOURCE, [log(COMPLETED, event_name="codex.sse_event")], scope=SCOPE)
    by_attribute = codex_logs(COMPLETED)
    keys = {only_call(map_logs(request)).dedup_key for request in (by_field, by_attribute)}
    assert len(keys) == 1, "the same call whichever field names it"
    # A callsite field and no codex.* name anywhere, outside Codex's scope and service: not Codex.
    stranger = logs(
        {"service.name": "my-app"},
        [log(COMPLETED | {"event.name": CALLSITE}, time_ns=0, observed_ns=OBSERVED_NS, event_name=CALLSITE)],
    )
    result = map_logs(stranger)
    assert (result.calls, result.rejections, result.ignored) == ([], [], 1)


def test_collector_overwritten_event_name_is_recognised_by_scope_kind_and_counts() -> None:
    call = only_call(map_logs(codex_logs(CORPUS["completed_name_overwritten"])))
    assert call.tokens == EXPECTED
    assert call.dedup_key == only_call(map_logs(codex_logs(COMPLETED))).dedup_key, "one call, one key"
    # Scope renamed too: the Codex service name still says whose record it is.
    renamed = logs(EXEC_RESOURCE, [log(CORPUS["completed_name_overwritten"], time_ns=0)], scope="other")
    assert only_call(map_logs(renamed)).tokens == EXPECTED
    # Other kinds, and a completed kind without counts or error, are not calls.
    others = [
        COMPLETED | {"event.name": CALLSITE, "event.kind": "response.output_item.done"},
        {**METADATA, "event.name": CALLSITE, "event.kind": "response.completed"},
    ]
    result = map_logs(codex_logs(*others))
    assert (result.calls, result.rejections, result.ignored) == ([], [], 2)


def test_missing_cached_and_reasoning_counts_are_zero() -> None:
    call = only_call(map_logs(codex_logs(CORPUS["completed_without_cached"])))
    assert call.tokens == Tokens(input=4000, output=90)


def test_time_falls_back_from_event_timestamp_to_observed_time() -> None:
    with_time = logs(
        EXEC_RESOURCE, [log(COMPLETED, time_ns=NOW_NS + 7, observed_ns=OBSERVED_NS)], scope=SCOPE
    )
    assert only_call(map_logs(with_time)).ts == ns_to_datetime(NOW_NS + 7), "a set time_unix_nano wins"
    for stamp in (None, "not a time", "2026-01-02T10:00:00"):
        attrs = {k: v for k, v in COMPLETED.items() if k != "event.timestamp"}
        if stamp is not None:
            attrs["event.timestamp"] = stamp
        assert only_call(map_logs(codex_logs(attrs))).ts == ns_to_datetime(OBSERVED_NS), stamp


def test_failed_completion_is_a_zero_token_error_row() -> None:
    call = only_call(map_logs(codex_logs(CORPUS["completed_failed"])))
    assert (call.status, call.tokens, call.model) == ("error", Tokens(), "gpt-5-codex")
    assert call.error == "failed to parse response.completed: missing field `usage`"
    assert call.dedup_key.endswith(":error")
    overwritten = CORPUS["completed_failed"] | {"event.name": CALLSITE}
    assert only_call(map_logs(codex_logs(overwritten))).dedup_key == call.dedup_key
    no_model = {k: v for k, v in CORPUS["completed_failed"].items() if k not in ("model", "slug")}
    result = map_logs(codex_logs(no_model))
    assert "'model'" in result.rejections[0].reason, "never a crash"


def test_resend_is_the_same_key_and_a_later_response_is_not() -> None:
    first = only_call(map_logs(codex_logs(COMPLETED)))
    again = only_call(map_logs(codex_logs(COMPLETED)))
    later = only_call(map_logs(codex_logs(COMPLETED | {"event.timestamp": "2026-01-02T10:00:07.001Z"})))
    assert first.dedup_key == again.dedup_key
    assert later.dedup_key != first.dedup_key


def test_api_key_auth_is_metered_and_cache_write_count_is_used_when_present() -> None:
    attrs = CORPUS["completed_with_cache_write"] | {"auth_mode": "api_key"}
    call = only_call(map_logs(codex_logs(attrs)))
    assert call.reported.estimation == "metered"
    assert call.tokens == Tokens(input=2000, output=800, cache_read=9000, cache_write=1000, reasoning=300)


def test_other_codex_events_are_not_model_calls() -> None:
    names = ["api_request", "response_created", "tool_decision", "turn_cost"]
    others = [CORPUS[name] for name in names] + [
        {**METADATA, "event.name": "codex.sse_event", "event.kind": "response.output_item.done"},
        {**METADATA, "event.name": "codex.user_prompt", "prompt_length": "42", "prompt": "[REDACTED]"},
        # Named response.completed but neither counts nor an error: nothing to record.
        {**METADATA, "event.name": "codex.sse_event", "event.kind": "response.completed"},
    ]
    result = map_logs(codex_logs(*others))
    assert (result.calls, result.rejections, result.ignored) == ([], [], len(others))
    # The same records under the old shape (semantic event_name field, real time) too.
    result = map_logs(logs(RESOURCE, [log(attrs) for attrs in others], scope="codex_otel"))
    assert (result.calls, result.rejections, result.ignored) == ([], [], len(others))


def test_handle_responses_span_repeating_usage_is_ignored() -> None:
    """The span repeats the log record's usage with no id to join on: never a second row."""
    result = map_traces(traces(EXEC_RESOURCE, [span("completed", HANDLE_RESPONSES_SPAN, "aaaaaaaaaaaaaaaa")]))
    assert (result.calls, result.rejections, result.ignored) == ([], [], 1)
    # A build without the codex.usage.* keys: recognised by Codex's service and its usage.
    genai_only = {k: v for k, v in HANDLE_RESPONSES_SPAN.items() if not k.startswith("codex.")}
    genai_only |= {"gen_ai.request.model": "gpt-5-codex"}
    result = map_traces(traces(EXEC_RESOURCE, [span("handle_responses", genai_only, "bbbbbbbbbbbbbbbb")]))
    assert (result.calls, result.rejections, result.ignored) == ([], [], 1)
    # A plain GenAI chat span that merely runs under a Codex service name is still a call.
    chat = {k: v for k, v in genai_only.items() if k != "from"}
    call = only_call(map_traces(traces(EXEC_RESOURCE, [span("chat gpt-5-codex", chat, "cccccccccccccccc")])))
    assert call.source == "otel-genai"


def test_rejections_name_the_attribute() -> None:
    result = map_logs(codex_logs(COMPLETED | {"input_token_count": "12k"}))
    assert "'input_token_count'" in result.rejections[0].reason
    no_model = {k: v for k, v in COMPLETED.items() if k not in ("model", "slug")}
    result = map_logs(codex_logs(no_model))
    assert "'model'" in result.rejections[0].reason


def test_otlp_json_body_as_codex_posts_it_to_v1_logs() -> None:
    body = json.dumps(codex_json_logs(COMPLETED)).encode()
    call = only_call(map_logs(decode_json(body, ExportLogsServiceRequest)))
    assert call.tokens == EXPECTED
    assert call.ts == ns_to_datetime(EVENT_NS)
