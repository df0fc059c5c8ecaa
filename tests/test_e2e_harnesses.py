"""End to end, per harness: the payloads each one really sends → `agent-spend serve` → stored rows.

Claude Code goes through the real OTel Python SDK log exporters (gRPC and HTTP/protobuf), Codex
as OTLP/JSON to /v1/logs, Gemini CLI as its two records for one call, and a Vercel AI SDK
parent/child trace as OTLP/JSON. Every scenario is re-sent to prove it never adds a row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.sdk._logs import Logger, LoggerProvider
from opentelemetry.sdk._logs.export import LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from tests.support.adapters import TRACE_ID, span, traces
from tests.support.bridge_process import BridgeProcess
from tests.support.db import rows
from tests.support.otlp import (
    NOW_NS,
    chat_span,
    json_span,
    json_traces,
    post,
    sdk_tracer,
)
from tests.support.payloads.claude_code import API_REQUEST, LLM_REQUEST_SPAN, STANDARD
from tests.support.payloads.codex import CORPUS, HANDLE_RESPONSES_SPAN, codex_json_logs, codex_logs
from tests.support.payloads.codex import EXEC_RESOURCE as CODEX_RESOURCE
from tests.support.payloads.gemini_cli import (
    API_RESPONSE,
    DETAILS,
    LLM_CALL_SPAN,
    gemini_logs,
    gemini_traces,
)
from tests.support.payloads.vercel_ai import BASE, V6_USAGE
from tests.support.pricing import usd

ROW_QUERY = """
    SELECT source, signal, user_id, session_id, harness_name, harness_version, provider, model,
           input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, status, error
    FROM agent_spend_logs ORDER BY ts, id
"""
COST_QUERY = """
    SELECT reported_cost_usd, list_cost_usd, total_cost_usd, cost_estimation, cost_source
    FROM agent_spend_logs ORDER BY ts, id
"""
CLAUDE_RESOURCE = {"service.name": "claude-code", "service.version": "2.1.289"}
# Claude Code's own cost for the call, which equals the list price below.
CLAUDE_COST = 0.038874
# Sonnet 4.5 list prices per million tokens: $3 input, $15 output, $0.30 cache read, $3.75 cache write.
CLAUDE_LIST = (
    Decimal(12) * 3 + Decimal(845) * 15 + Decimal(48210) * Decimal("0.30") + Decimal(3120) * Decimal("3.75")
) / 1_000_000
CLAUDE_IDENTITY = ("ana@example.com", "cec62d6f-60f8-43e8-a67b-133b2a138a83", "claude-code", "2.1.289")
CLAUDE_ROW = ("claude-code", "log", *CLAUDE_IDENTITY, "anthropic", "claude-sonnet-4-5-20250929")
CLAUDE_COSTS = (Decimal("0.038874"), CLAUDE_LIST, CLAUDE_LIST, "metered", "list_price")


@contextmanager
def claude_logger(exporter: LogRecordExporter) -> Iterator[Logger]:
    """A logger like Claude Code's event logger: each record is exported as it is emitted."""
    provider = LoggerProvider(resource=Resource.create(CLAUDE_RESOURCE))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    try:
        yield provider.get_logger("com.anthropic.claude_code.events", "2.1.289")
    finally:
        provider.shutdown()


def emit(logger: Logger, body: str, attrs: dict[str, Any], time_ns: int = NOW_NS) -> None:
    logger.emit(timestamp=time_ns, observed_timestamp=time_ns, body=body, attributes=attrs)


def test_claude_code_over_grpc_sdk_log_exporter_one_row_across_resend_and_span(
    bridge: BridgeProcess, database_url: str
) -> None:
    request = API_REQUEST | {"cost_usd": CLAUDE_COST}
    with claude_logger(GrpcLogExporter(endpoint=bridge.grpc_url, insecure=True)) as logger:
        emit(
            logger, "claude_code.user_prompt", {**STANDARD, "event.name": "user_prompt", "prompt_length": 42}
        )
        emit(logger, "claude_code.api_request", request)
        emit(logger, "claude_code.api_request", request)  # the exporter retried a lost response
    # The beta trace of the same request, over the gRPC span exporter.
    with sdk_tracer(GrpcSpanExporter(endpoint=bridge.grpc_url, insecure=True), CLAUDE_RESOURCE) as tracer:
        chat_span(tracer, "claude_code.llm_request", LLM_REQUEST_SPAN, start_ns=NOW_NS - 4_000_000_000)

    assert rows(database_url, ROW_QUERY) == [(*CLAUDE_ROW, 12, 845, 48210, 3120, 0, "ok", None)]
    assert rows(database_url, COST_QUERY) == [CLAUDE_COSTS]
    assert rows(database_url, "SELECT dedup_key FROM agent_spend_logs") == [
        ("claude-code:req:req_011CbtJR1bZ4uLs3hmdd96uE",)
    ]


def test_claude_code_over_http_sdk_log_exporter_with_an_api_error(
    bridge: BridgeProcess, database_url: str
) -> None:
    error = {
        **STANDARD,
        "event.name": "api_error",
        "event.sequence": 16,
        "model": "claude-sonnet-4-5-20250929",
        "error": "Request timed out.",
        "status_code": "undefined",
        "duration_ms": 600000,
        "attempt": 1,
    }
    request = API_REQUEST | {"cost_usd": CLAUDE_COST}
    exporter = HttpLogExporter(endpoint=f"{bridge.http_url}/v1/logs")
    with claude_logger(exporter) as logger:
        emit(logger, "claude_code.api_error", error, time_ns=NOW_NS - 700_000_000_000)
        emit(logger, "claude_code.api_request", request)
    with claude_logger(HttpLogExporter(endpoint=f"{bridge.http_url}/v1/logs")) as logger:
        emit(logger, "claude_code.api_error", error, time_ns=NOW_NS - 700_000_000_000)

    assert rows(database_url, ROW_QUERY) == [
        (*CLAUDE_ROW, 0, 0, 0, 0, 0, "error", "Request timed out."),
        (*CLAUDE_ROW, 12, 845, 48210, 3120, 0, "ok", None),
    ]
    # The failed attempt is priced at list too: zero tokens, zero dollars.
    assert rows(database_url, COST_QUERY) == [(None, 0, 0, "metered", "list_price"), CLAUDE_COSTS]


def test_codex_exec_as_exported_one_row_per_completed_response(
    bridge: BridgeProcess, database_url: str
) -> None:
    """Codex CLI 0.171.0's wire shape (callsite event_name, time 0, string counts, no ids), all
    records in one OTLP/JSON export at shutdown, re-sent; then the same completion behind a
    collector that overwrote event.name, and the handle_responses span repeating its usage."""
    names = [
        "api_request",
        "response_created",
        "completed",
        "tool_decision",
        "completed_without_cached",
        "completed_with_cache_write",
        "completed_failed",
        "turn_cost",
    ]
    body = codex_json_logs(*(CORPUS[name] for name in names))
    for _ in range(2):
        status, _, payload = post(f"{bridge.http_url}/v1/logs", body)
        assert (status, payload) == (200, b"{}")
    overwritten = codex_logs(CORPUS["completed_name_overwritten"]).SerializeToString()
    status, _, _ = post(f"{bridge.http_url}/v1/logs", overwritten, content_type="application/x-protobuf")
    assert status == 200
    span_body = traces(CODEX_RESOURCE, [span("completed", HANDLE_RESPONSES_SPAN, "aaaaaaaaaaaaaaaa")])
    status, _, _ = post(
        f"{bridge.http_url}/v1/traces", span_body.SerializeToString(), content_type="application/x-protobuf"
    )
    assert status == 200

    identity = ("cy@example.com", "0199a213-81c0-7800-8aa1-bbab2a035a53", "codex", "0.171.0")
    row = ("codex", "log", *identity, "openai", "gpt-5-codex")
    assert rows(database_url, ROW_QUERY) == [
        (*row, 3000, 800, 9000, 0, 300, "ok", None),
        (*row, 4000, 90, 0, 0, 0, "ok", None),
        (*row, 2000, 800, 9000, 1000, 300, "ok", None),
        (*row, 0, 0, 0, 0, 0, "error", "failed to parse response.completed: missing field `usage`"),
    ]
    costs = rows(database_url, COST_QUERY)
    # gpt-5 list prices per million tokens: $1.25 input, $10 output, $0.125 cache read.
    list_cost = usd((3000, "1.25"), (800, "10"), (9000, "0.125"))
    assert costs[0][:4] == (None, list_cost, 0, "subscription"), (
        "auth_mode=chatgpt: a plan, not a meter; the list-price equivalent is kept"
    )
    assert costs[3][1:3] == (0, 0), "the failed completion costs nothing"
    assert rows(database_url, "SELECT sum(duplicates_skipped), sum(rejected) FROM ingest_stats") == [(5, 0)]
    assert rows(database_url, "SELECT count(*) FROM ingest_rejections") == [(0,)]


def test_gemini_cli_two_records_of_one_call_are_one_row(bridge: BridgeProcess, database_url: str) -> None:
    body = gemini_logs(API_RESPONSE, DETAILS).SerializeToString()
    for _ in range(2):
        status, _, _ = post(f"{bridge.http_url}/v1/logs", body, content_type="application/x-protobuf")
        assert status == 200

    identity = ("dee@example.com", "9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b", "gemini-cli", "0.21.0")
    assert rows(database_url, ROW_QUERY) == [
        (
            "gemini-cli",
            "log",
            *identity,
            "gcp.gemini",
            "gemini-2.5-pro",
            4100,
            1700,
            6000,
            0,
            1200,
            "ok",
            None,
        )
    ]
    ((reported, *_, estimation, _source),) = rows(database_url, COST_QUERY)
    assert (reported, estimation) == (None, "metered")


def test_vercel_parent_and_child_trace_bills_the_child_once(bridge: BridgeProcess, database_url: str) -> None:
    parent = {**BASE, **V6_USAGE, "ai.operationId": "ai.streamText"}
    child = parent | {
        "ai.operationId": "ai.streamText.doStream",
        "ai.response.id": "msg_01E2E",
        "ai.response.model": "claude-sonnet-4-5-20250929",
    }
    tool = {"ai.operationId": "ai.toolCall", "ai.toolCall.name": "lookup"}
    spans = [
        json_span(TRACE_ID, "c000000000000001", "ai.streamText", parent),
        json_span(
            TRACE_ID, "c000000000000002", "ai.streamText.doStream", child, parent_span_id="c000000000000001"
        ),
        json_span(TRACE_ID, "c000000000000003", "ai.toolCall", tool, parent_span_id="c000000000000001"),
    ]
    body = json_traces({"service.name": "support-bot"}, spans)
    for _ in range(2):
        assert post(f"{bridge.http_url}/v1/traces", body)[0] == 200

    identity = ("fay@example.com", "ticket-4711", "support-bot", None)
    assert rows(database_url, ROW_QUERY) == [
        (
            "vercel-ai",
            "trace",
            *identity,
            "anthropic",
            "claude-sonnet-4-5-20250929",
            1500,
            700,
            8000,
            500,
            200,
            "ok",
            None,
        )
    ]
    assert rows(database_url, "SELECT dedup_key FROM agent_spend_logs") == [("resp:msg_01E2E",)]


def test_claude_code_span_before_its_event_still_gets_the_reported_cost(
    bridge: BridgeProcess, database_url: str
) -> None:
    """The span has no cost_usd; the later event for the same request completes the row."""
    with sdk_tracer(GrpcSpanExporter(endpoint=bridge.grpc_url, insecure=True), CLAUDE_RESOURCE) as tracer:
        chat_span(tracer, "claude_code.llm_request", LLM_REQUEST_SPAN, start_ns=NOW_NS - 4_000_000_000)
    assert rows(database_url, "SELECT reported_cost_usd FROM agent_spend_logs") == [(None,)]
    request = API_REQUEST | {"cost_usd": CLAUDE_COST}
    with claude_logger(GrpcLogExporter(endpoint=bridge.grpc_url, insecure=True)) as logger:
        emit(logger, "claude_code.api_request", request)
        emit(logger, "claude_code.api_request", request)
    assert rows(database_url, COST_QUERY) == [CLAUDE_COSTS]
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(1,)]
    assert rows(database_url, "SELECT sum(rows_written), sum(duplicates_skipped) FROM ingest_stats") == [
        (1, 2)
    ]
    # The completed costs reach the rollups too (ON CONFLICT DO UPDATE fires the update trigger).
    assert rows(database_url, "SELECT * FROM spend_rollup_verify()") == []
    assert rows(database_url, "SELECT sum(reported_cost_usd) FROM spend_hourly") == [(CLAUDE_COSTS[0],)]


@pytest.mark.parametrize("spans_first", [True, False], ids=["spans-first", "logs-first"])
def test_gemini_cli_with_traces_on_stores_each_call_once_at_the_traces_off_cost(
    bridge: BridgeProcess, database_url: str, spans_first: bool
) -> None:
    """telemetry.traces on adds an llm_call span per call with gen_ai usage: never a second row."""
    off = "11111111-1111-4111-8111-111111111111"
    on = "22222222-2222-4222-8222-222222222222"
    # The same call once with traces off, once (another session) with traces on.
    off_logs = gemini_logs(API_RESPONSE | {"session.id": off}, DETAILS | {"session.id": off})
    on_logs = gemini_logs(API_RESPONSE | {"session.id": on}, DETAILS | {"session.id": on}, traced=True)
    on_spans = gemini_traces(LLM_CALL_SPAN | {"gen_ai.conversation.id": on})
    sends = [("/v1/logs", off_logs), ("/v1/traces", on_spans), ("/v1/logs", on_logs)]
    if not spans_first:
        sends[1], sends[2] = sends[2], sends[1]
    for path, request in sends:
        status, _, _ = post(
            f"{bridge.http_url}{path}", request.SerializeToString(), content_type="application/x-protobuf"
        )
        assert status == 200

    query = """
        SELECT session_id, signal, input_tokens, output_tokens, cache_read_tokens, reasoning_tokens,
               list_cost_usd
        FROM agent_spend_logs ORDER BY session_id
    """
    (traces_off, traces_on) = rows(database_url, query)
    assert traces_off[0] == off and traces_on[0] == on
    assert traces_off[1:] == traces_on[1:], "traces on costs exactly what traces off costs"
    assert traces_on[1:6] == ("log", 4100, 1700, 6000, 1200)
    assert rows(database_url, "SELECT coalesce(sum(rejected), 0) FROM ingest_stats") == [(0,)]
