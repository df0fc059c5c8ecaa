"""Optional bearer-token authentication on both transports, via real exporters."""

from __future__ import annotations

import json

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from bridge.receive.auth import IngestAuth
from bridge.receive.decode import decode_json
from tests.support.bridge_process import start_bridge
from tests.support.db import rows
from tests.support.otlp import get, json_span, json_traces, post

BODY = json_traces(
    {},
    [
        json_span(
            "0af7651916cd43dd8448eb211c80319c",
            "00f067aa0ba902b7",
            "chat",
            {
                "gen_ai.request.model": "gpt-5",
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 5,
            },
        )
    ],
)


def test_tokens_are_required_on_both_transports_when_configured(database_url: str) -> None:
    bridge = start_bridge(database_url, "--ingest-token", "old-token", "--ingest-token", "new-token")
    try:
        status, headers, payload = post(f"{bridge.http_url}/v1/traces", BODY)
        assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
        assert "OTEL_EXPORTER_OTLP_HEADERS" in json.loads(payload)["message"]
        bad = post(f"{bridge.http_url}/v1/traces", BODY, headers={"Authorization": "Bearer nope"})
        assert bad[0] == 401
        request = decode_json(json.dumps(BODY).encode(), ExportTraceServiceRequest)
        with grpc.insecure_channel(bridge.grpc) as channel:
            stub = TraceServiceStub(channel)
            with pytest.raises(grpc.RpcError) as error:
                stub.Export(request, timeout=10)
            assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(0,)]
            stub.Export(request, timeout=10, metadata=[("authorization", "Bearer new-token")])
        ok = post(f"{bridge.http_url}/v1/traces", BODY, headers={"Authorization": "Bearer old-token"})
        assert ok[0] == 200
        assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(1,)]
        assert get(f"{bridge.http_url}/healthz")[0] == 200, "probes stay open"
    finally:
        assert bridge.stop() == 0


def test_sdk_exporter_headers_authenticate(database_url: str) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from tests.support.otlp import chat_span, sdk_tracer

    bridge = start_bridge(database_url, "--ingest-token", "s3cret")
    try:
        exporter = OTLPSpanExporter(
            endpoint=f"{bridge.http_url}/v1/traces", headers={"Authorization": "Bearer s3cret"}
        )
        with sdk_tracer(exporter, {"service.name": "x"}) as tracer:
            chat_span(
                tracer,
                "chat",
                {
                    "gen_ai.request.model": "gpt-5",
                    "gen_ai.usage.input_tokens": 3,
                    "gen_ai.usage.output_tokens": 1,
                },
            )
        assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(1,)]
    finally:
        assert bridge.stop() == 0


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        (None, False),
        ("", False),
        ("Bearer a", True),
        ("bearer a", True),
        ("Basic a", False),
        ("Bearer ab", False),
        ("Bearer  a ", True),
    ],
)
def test_header_parsing(header: str | None, allowed: bool) -> None:
    assert IngestAuth(["a"]).allows(header) is allowed
    assert IngestAuth([]).allows(header) is True, "no tokens configured: open, as before"
