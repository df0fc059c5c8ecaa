"""The HTTP transport's contract: status codes, content types, size limits, gzip bombs."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.support.bridge_process import BridgeProcess, start_bridge
from tests.support.db import rows
from tests.support.otlp import get, json_log, json_logs, json_span, json_traces, post

GOOD_SPAN = json_span(
    "0af7651916cd43dd8448eb211c80319c",
    "00f067aa0ba902b7",
    "chat",
    {"gen_ai.request.model": "gpt-5", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5},
)


def test_protobuf_request_gets_protobuf_response(bridge: BridgeProcess, database_url: str) -> None:
    from bridge.receive.decode import decode_json

    request = decode_json(json.dumps(json_traces({}, [GOOD_SPAN])).encode(), ExportTraceServiceRequest)
    status, headers, body = post(
        f"{bridge.http_url}/v1/traces", request.SerializeToString(), "application/x-protobuf"
    )
    assert status == 200 and headers["Content-Type"] == "application/x-protobuf"
    assert ExportTraceServiceResponse.FromString(body).partial_success.rejected_spans == 0
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(1,)]


@pytest.mark.parametrize(
    ("content_type", "body", "needle"),
    [
        ("application/json", b"{not json", "not valid JSON"),
        (
            "application/json",
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            "traceId",
        ),
        ("application/json", b'{"resourceSpans": "nope"}', "resourceSpans"),
        ("application/x-protobuf", b"\xff\xff\xff\xff garbage", "protobuf"),
    ],
)
def test_undecodable_bodies_get_400_with_status(
    bridge: BridgeProcess, content_type: str, body: bytes, needle: str
) -> None:
    status, _headers, payload = post(f"{bridge.http_url}/v1/traces", body, content_type)
    assert status == 400
    if content_type == "application/json":
        message = json.loads(payload)["message"]
    else:
        message = status_pb2.Status.FromString(payload).message
    assert needle in message


def test_unsupported_media_type_and_encoding_get_415(bridge: BridgeProcess) -> None:
    assert post(f"{bridge.http_url}/v1/traces", b"x", "text/plain")[0] == 415
    status, _, payload = post(
        f"{bridge.http_url}/v1/traces", b"{}", "application/json", headers={"Content-Encoding": "br"}
    )
    assert status == 415 and "br" in json.loads(payload)["message"]


def test_corrupt_gzip_is_400(bridge: BridgeProcess) -> None:
    status, _, payload = post(
        f"{bridge.http_url}/v1/traces",
        b"\x1f\x8bnot really gzip",
        "application/json",
        headers={"Content-Encoding": "gzip"},
    )
    assert status == 400 and "gzip" in json.loads(payload)["message"]


def test_size_limits_and_gzip_bomb(database_url: str) -> None:
    bridge = start_bridge(database_url, "--max-body-mib", "1")
    try:
        big = json.dumps(json_traces({"pad": "x" * (2 * 1024 * 1024)}, [GOOD_SPAN])).encode()
        status, _, payload = post(f"{bridge.http_url}/v1/traces", big)
        assert status == 413 and "exceeds the limit" in json.loads(payload)["message"]
        # 1 GiB of zeros compresses to ~1 MiB; 64 MiB to ~64 KiB: small on the wire, refused after 1 MiB.
        bomb = gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9)
        assert len(bomb) < 1024 * 1024
        status, _, payload = post(
            f"{bridge.http_url}/v1/traces", bomb, "application/json", headers={"Content-Encoding": "gzip"}
        )
        assert status == 413 and "decompressed" in json.loads(payload)["message"]
        # The bridge is still healthy and still stores good data afterwards.
        assert post(f"{bridge.http_url}/v1/traces", json_traces({}, [GOOD_SPAN]), gzip_body=True)[0] == 200
        assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(1,)]
    finally:
        assert bridge.stop() == 0


def test_deflate_is_accepted(bridge: BridgeProcess, database_url: str) -> None:
    body = zlib.compress(json.dumps(json_traces({}, [GOOD_SPAN])).encode())
    status, _, _ = post(f"{bridge.http_url}/v1/traces", body, headers={"Content-Encoding": "deflate"})
    assert status == 200
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(1,)]


def test_unknown_path_is_404(bridge: BridgeProcess) -> None:
    assert post(f"{bridge.http_url}/v1/nope", b"{}")[0] == 404


def test_metrics_signal_is_accepted_and_ignored(bridge: BridgeProcess, database_url: str) -> None:
    body = {
        "resourceMetrics": [
            {
                "scopeMetrics": [
                    {"metrics": [{"name": "x", "sum": {"dataPoints": [{"asInt": "3", "timeUnixNano": "1"}]}}]}
                ]
            }
        ]
    }
    status, _, payload = post(f"{bridge.http_url}/v1/metrics", body)
    assert status == 200 and json.loads(payload) == {}
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(0,)]


def test_log_records_become_rows_and_replays_do_not(bridge: BridgeProcess, database_url: str) -> None:
    record = json_log(
        {
            "agent.event.kind": "model_call",
            "agent.user.id": "dee@example.com",
            "gen_ai.request.model": "claude-haiku-4-5",
            "gen_ai.usage.input_tokens": 7,
            "gen_ai.usage.cache_read.input_tokens": 70,
            "gen_ai.usage.output_tokens": 3,
        }
    )
    noise = json_log({"event.name": "user_prompt", "prompt_length": 12})
    body = json_logs({"service.name": "pi"}, [record, noise])
    for _ in range(2):
        status, _, payload = post(f"{bridge.http_url}/v1/logs", body)
        assert status == 200 and json.loads(payload) == {}
    assert rows(
        database_url,
        "SELECT signal, user_id, provider, input_tokens, cache_read_tokens, output_tokens "
        "FROM agent_spend_logs",
    ) == [("log", "dee@example.com", "anthropic", 7, 70, 3)]


def test_log_partial_success_protobuf(bridge: BridgeProcess, database_url: str) -> None:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    from bridge.receive.decode import decode_json

    good = json_log(
        {
            "agent.event.kind": "model_call",
            "gen_ai.request.model": "gpt-5",
            "gen_ai.usage.input_tokens": 1,
            "gen_ai.usage.output_tokens": 1,
        }
    )
    bad = json_log({"agent.event.kind": "model_call", "gen_ai.usage.input_tokens": 1})
    request = decode_json(json.dumps(json_logs({}, [good, bad])).encode(), ExportLogsServiceRequest)
    status, _, body = post(
        f"{bridge.http_url}/v1/logs", request.SerializeToString(), "application/x-protobuf"
    )
    assert status == 200
    partial = ExportLogsServiceResponse.FromString(body).partial_success
    assert partial.rejected_log_records == 1 and "gen_ai.request.model" in partial.error_message
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(1,)]


def test_health_readiness_and_metrics(bridge: BridgeProcess) -> None:
    assert get(f"{bridge.http_url}/healthz") == (200, b"ok\n")
    assert get(f"{bridge.http_url}/readyz") == (200, b"ready\n")
    post(f"{bridge.http_url}/v1/traces", json_traces({}, [GOOD_SPAN]))
    post(f"{bridge.http_url}/v1/traces", json_traces({}, [GOOD_SPAN]))
    status, text = get(f"{bridge.http_url}/metrics")
    assert status == 200
    metrics = text.decode()
    assert "agent_spend_rows_written_total 1.0" in metrics
    assert "agent_spend_duplicates_skipped_total 1.0" in metrics
    assert 'agent_spend_records_received_total{signal="trace"} 2.0' in metrics
    assert "agent_spend_queue_rows 0.0" in metrics
    assert "agent_spend_batch_write_seconds_count" in metrics
