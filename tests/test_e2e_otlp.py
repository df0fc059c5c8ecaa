"""End to end: real OTLP exporters → `agent-spend serve` → rows in PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import grpc
import psycopg
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

from tests.support.bridge_process import BridgeProcess
from tests.support.db import rows
from tests.support.otlp import FAR_FUTURE_NS, chat_span, json_span, json_traces, post, sdk_tracer

ROW_QUERY = """
    SELECT user_id, team, session_id, provider, request_model, response_model, model, harness_name,
           harness_version, environment, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
           reasoning_tokens, total_cost_usd, cost_estimation, status, signal, workspace_repo, workspace_is_ci
    FROM agent_spend_logs ORDER BY ts, id
"""

SEMCONV_ATTRS = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.response.model": "claude-sonnet-4-5-20250929",
    # Semantic conventions: input_tokens SHOULD include cached tokens.
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.cache_read.input_tokens": 1000,
    "gen_ai.usage.cache_creation.input_tokens": 100,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.reasoning.output_tokens": 50,
    "gen_ai.conversation.id": "conv-1",
    "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"secret prompt"}]}]',
}


def test_grpc_sdk_exporter_stores_one_normalised_row(bridge: BridgeProcess, database_url: str) -> None:
    resource = {
        "service.name": "my-agent",
        "deployment.environment.name": "prod",
        "user.email": "ana@example.com",
    }
    with sdk_tracer(
        GrpcSpanExporter(endpoint=bridge.grpc_url, insecure=True, compression=grpc.Compression.Gzip), resource
    ) as tracer:
        chat_span(tracer, "chat claude-sonnet-4-5", SEMCONV_ATTRS)

    assert rows(database_url, ROW_QUERY) == [
        (
            "ana@example.com",
            "unknown",
            "conv-1",
            "anthropic",
            "claude-sonnet-4-5",
            "claude-sonnet-4-5-20250929",
            "claude-sonnet-4-5-20250929",
            "my-agent",
            None,
            "prod",
            100,
            300,
            1000,
            100,
            50,
            # Claude Sonnet 4.5 list price: 100 x $3 + 300 x $15 + 1000 x $0.30 + 100 x $3.75, per 1M.
            Decimal("0.005475"),
            "metered",
            "ok",
            "trace",
            None,
            False,
        )
    ]
    (attrs,) = rows(database_url, "SELECT attributes FROM agent_spend_logs")[0]
    assert "gen_ai.input.messages" not in attrs, "prompt content must never be stored"
    assert attrs["gen_ai.operation.name"] == "chat"


def test_http_protobuf_sdk_exporter_with_agent_extension(bridge: BridgeProcess, database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO teams (team) VALUES ('payments')")
        conn.execute("INSERT INTO users (user_id, team) VALUES ('bo@example.com', 'payments')")
    resource = {
        "service.name": "pi",
        "agent.harness.name": "pi",
        "agent.harness.version": "0.9.1",
        "agent.user.id": "bo@example.com",
        "agent.machine.id": "m-1",
        "deployment.environment": "staging",
    }
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-5",
        # agent.* emitters send input excluding cache.
        "gen_ai.usage.input_tokens": 40,
        "gen_ai.usage.cache_read.input_tokens": 2000,
        "gen_ai.usage.output_tokens": 120,
        "agent.session.id": "s-9",
        "agent.workspace.repo": "github.com/acme/api",
        "agent.workspace.is_ci": True,
        "agent.cost.total.usd": 0.00135,
        "agent.cost.estimation": "metered",
    }
    exporter = HttpSpanExporter(endpoint=f"{bridge.http_url}/v1/traces", compression=HttpCompression.Gzip)
    with sdk_tracer(exporter, resource) as tracer:
        chat_span(tracer, "chat gpt-5", attrs)

    assert rows(database_url, ROW_QUERY) == [
        (
            "bo@example.com",
            "payments",
            "s-9",
            "openai",
            "gpt-5",
            None,
            "gpt-5",
            "pi",
            "0.9.1",
            "staging",
            40,
            120,
            2000,
            0,
            0,
            # GPT-5 list price (40 x $1.25 + 2000 x $0.125 + 120 x $10, per 1M) wins over the
            # reported $0.00135 by default; see docs/pricing.md.
            Decimal("0.0015"),
            "metered",
            "ok",
            "trace",
            "github.com/acme/api",
            True,
        )
    ]


def test_raw_json_and_gzip_json_and_replay_store_one_row_each(
    bridge: BridgeProcess, database_url: str
) -> None:
    body = json_traces(
        {"service.name": "codex", "agent.user.id": "cy@example.com", "agent.user.team": "infra"},
        [
            json_span(
                "5b8efff798038103d269b633813fc60c",
                "eee19b7ec3c1b174",
                "chat gpt-4.1",
                {
                    "gen_ai.request.model": "gpt-4.1",
                    "gen_ai.usage.input_tokens": "500",
                    "gen_ai.usage.output_tokens": 20.0,
                },
            )
        ],
    )
    status, headers, payload = post(f"{bridge.http_url}/v1/traces", body)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(payload) == {}  # no partial_success: everything accepted
    # The exporter retries (e.g. after a lost response): same span, same row.
    status, _, _ = post(f"{bridge.http_url}/v1/traces", body, gzip_body=True)
    assert status == 200
    assert rows(
        database_url,
        "SELECT trace_id, span_id, user_id, team, input_tokens, output_tokens FROM agent_spend_logs",
    ) == [("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "cy@example.com", "infra", 500, 20)]
    second = json_traces(
        {"service.name": "codex"},
        [
            json_span(
                "5b8efff798038103d269b633813fc60c",
                "aaaaaaaaaaaaaaaa",
                "chat gpt-4.1",
                {
                    "gen_ai.request.model": "gpt-4.1",
                    "gen_ai.usage.input_tokens": 1,
                    "gen_ai.usage.output_tokens": 1,
                },
            )
        ],
    )
    assert post(f"{bridge.http_url}/v1/traces", second, gzip_body=True)[0] == 200
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(2,)]
    assert rows(database_url, "SELECT sum(rows_written), sum(duplicates_skipped) FROM ingest_stats") == [
        (2, 1)
    ]


def test_grpc_replay_of_same_spans_is_not_double_counted(bridge: BridgeProcess, database_url: str) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from tests.support.otlp import post as _  # noqa: F401  (keeps helpers import side-effect free)

    captured: list[ExportTraceServiceRequest] = []

    class Capturing(GrpcSpanExporter):
        def _translate_data(self, data):  # type: ignore[no-untyped-def]
            request = super()._translate_data(data)
            captured.append(request)
            return request

    exporter = Capturing(endpoint=bridge.grpc_url, insecure=True)
    with sdk_tracer(exporter, {"service.name": "claude-code"}) as tracer:
        chat_span(tracer, "chat", SEMCONV_ATTRS)
    import grpc
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

    with grpc.insecure_channel(bridge.grpc) as channel:
        response = TraceServiceStub(channel).Export(captured[0], timeout=10)
    assert response.partial_success.rejected_spans == 0
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(1,)]


def test_invoke_agent_parent_and_tool_spans_do_not_double_count(
    bridge: BridgeProcess, database_url: str
) -> None:
    usage = {"gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 200}
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    spans = [
        json_span(
            trace_id,
            "b7ad6b7169203331",
            "invoke_agent coder",
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "gpt-5", **usage},
        ),
        json_span(
            trace_id,
            "00f067aa0ba902b7",
            "chat gpt-5",
            {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-5", **usage},
            parent_span_id="b7ad6b7169203331",
        ),
        json_span(
            trace_id,
            "1111111111111111",
            "execute_tool grep",
            {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "grep"},
            parent_span_id="b7ad6b7169203331",
        ),
        json_span(trace_id, "2222222222222222", "GET /v1/responses", {"http.request.method": "GET"}),
    ]
    status, _, payload = post(f"{bridge.http_url}/v1/traces", json_traces({"service.name": "x"}, spans))
    assert status == 200 and json.loads(payload) == {}, "ignored spans are not rejections"
    # No user anywhere: the call is kept under `unknown`, never dropped.
    assert rows(
        database_url, "SELECT span_id, user_id, team, input_tokens, output_tokens FROM agent_spend_logs"
    ) == [("00f067aa0ba902b7", "unknown", "unknown", 1000, 200)]


def test_partial_success_keeps_good_records(bridge: BridgeProcess, database_url: str) -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    good = {"gen_ai.request.model": "gpt-5", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}
    spans = [
        json_span(trace_id, "0000000000000001", "chat", good),
        json_span(trace_id, "0000000000000002", "chat", {**good, "gen_ai.usage.output_tokens": -5}),
        json_span(trace_id, "0000000000000003", "chat", {"gen_ai.usage.input_tokens": 10}),
        json_span(trace_id, "0000000000000004", "chat", {**good, "gen_ai.usage.input_tokens": "lots"}),
        json_span(trace_id, "0000000000000005", "chat", good, start_ns=FAR_FUTURE_NS),
    ]
    status, _, payload = post(f"{bridge.http_url}/v1/traces", json_traces({"service.name": "x"}, spans))
    assert status == 200
    partial = json.loads(payload)["partialSuccess"]
    assert partial["rejectedSpans"] == "4"
    assert "gen_ai.usage.output_tokens" in partial["errorMessage"]
    assert rows(database_url, "SELECT span_id FROM agent_spend_logs") == [("0000000000000001",)]
    reasons = [r[0] for r in rows(database_url, "SELECT reason FROM ingest_rejections ORDER BY reason")]
    assert len(reasons) == 4
    assert any("no gen_ai.request.model" in r for r in reasons)
    assert any("in the future" in r for r in reasons)
