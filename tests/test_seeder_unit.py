"""Unit tests of the synthetic-telemetry seeder: no database, no network beyond loopback.

The seeder is what every dashboard screenshot and end-to-end test is built on, so these
tests pin the properties the rest of the project silently relies on: determinism, volume,
the deliberate invoke_agent double-count trap, the presence of every kind of row a panel
shows, and an OTLP client that speaks each protocol correctly.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from seeder import SeedError, generate, send, to_otlp_json, to_requests
from seeder.catalog import call_cost_usd
from seeder.otlp import key_values
from seeder.send import grpc_target, http_url

generate_module = importlib.import_module("seeder.generate")  # `seeder.generate` is the function
NOW = datetime(2025, 11, 20, 15, 30, tzinfo=UTC)  # a Thursday afternoon in Europe
NOW_NS = int(NOW.timestamp()) * 1_000_000_000
HOUR_NS = 3600 * 1_000_000_000
USAGE_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
)


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


@dataclass
class Row:
    resource: dict[str, Any]
    span: Span
    attrs: dict[str, Any]


def _rows(requests: list[ExportTraceServiceRequest]) -> list[Row]:
    return [
        Row(_attrs(rs.resource.attributes), span, _attrs(span.attributes))
        for request in requests
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]


@pytest.fixture(scope="module")
def requests() -> list[ExportTraceServiceRequest]:
    return to_requests(generate(now=NOW))


@pytest.fixture(scope="module")
def rows(requests: list[ExportTraceServiceRequest]) -> list[Row]:
    return _rows(requests)


@pytest.fixture(scope="module")
def calls(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.attrs.get("agent.event.kind") == "model_call"]


def _serialized(requests: list[ExportTraceServiceRequest]) -> list[bytes]:
    return [r.SerializeToString(deterministic=True) for r in requests]


def test_same_seed_and_now_is_byte_identical(requests: list[ExportTraceServiceRequest]) -> None:
    assert _serialized(to_requests(generate(now=NOW))) == _serialized(requests)
    assert _serialized(to_requests(generate(now=NOW, seed=7))) != _serialized(requests)
    naive = generate(days=1, users=2, now=NOW.replace(tzinfo=None))
    assert naive == generate(days=1, users=2, now=NOW), "a naive `now` is read as UTC"


def test_default_now_is_the_current_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `now`, generate reads the clock once and truncates it to the minute (UTC)."""
    instant = datetime(2028, 2, 29, 23, 59, 41, 250_000, tzinfo=UTC)
    asked: list[object] = []

    class Clock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Clock:  # type: ignore[override]
            asked.append(tz)
            return cls.fromtimestamp(instant.timestamp(), tz)  # type: ignore[arg-type]

    monkeypatch.setattr(generate_module, "datetime", Clock)
    defaulted = generate(days=1, users=1)
    assert asked == [UTC]
    monkeypatch.undo()
    assert defaulted == generate(days=1, users=1, now=datetime(2028, 2, 29, 23, 59, tzinfo=UTC))
    assert max(t.end_ns for t in defaulted) <= instant.timestamp() * 1e9
    assert min(t.start_ns for t in defaulted) >= instant.timestamp() * 1e9 - 25 * HOUR_NS


def test_default_volume_and_shape(calls: list[Row], requests: list[ExportTraceServiceRequest]) -> None:
    assert 2_500 <= len(calls) <= 3_100
    assert all(r.span.name == f"chat {r.attrs['gen_ai.request.model']}" for r in calls)
    assert all(r.span.kind == Span.SPAN_KIND_CLIENT for r in calls)
    for request in requests:
        assert sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans) <= 500
        keys = [tuple(sorted(_attrs(rs.resource.attributes).items())) for rs in request.resource_spans]
        assert len(keys) == len(set(keys)), "one ResourceSpans per resource within a request"
    users = Counter(
        r.resource["agent.user.id"] for r in calls if r.resource["agent.user.id"] != "ci-bot@example.com"
    )
    assert len(users) == 10
    assert max(users.values()) >= 3 * min(users.values()), "heavy and light users differ"


def test_invoke_agent_parent_repeats_children_usage(rows: list[Row]) -> None:
    children: dict[bytes, list[Row]] = defaultdict(list)
    roots: dict[bytes, Row] = {}
    for row in rows:
        op = row.attrs["gen_ai.operation.name"]
        if op == "invoke_agent":
            roots[row.span.trace_id] = row
        elif op == "chat":
            children[row.span.trace_id].append(row)
            assert row.span.parent_span_id == roots[row.span.trace_id].span.span_id
        else:
            assert op == "execute_tool" and row.span.name.startswith("execute_tool ")
            assert not any(k.startswith("gen_ai.usage.") for k in row.attrs)
    assert roots.keys() == children.keys()
    for trace_id, root in roots.items():
        assert "agent.event.kind" not in root.attrs
        for key in USAGE_KEYS:
            assert root.attrs[key] == sum(c.attrs.get(key, 0) for c in children[trace_id]), key


def test_token_counts_are_non_negative_ints(rows: list[Row]) -> None:
    for row in rows:
        for key, value in row.attrs.items():
            if key.startswith("gen_ai.usage."):
                assert isinstance(value, int) and not isinstance(value, bool) and value >= 0, (key, value)


def test_time_window_and_recent_burst(rows: list[Row], calls: list[Row]) -> None:
    assert all(r.span.start_time_unix_nano >= NOW_NS - 7 * 24 * HOUR_NS for r in rows)
    assert all(r.span.start_time_unix_nano <= r.span.end_time_unix_nano <= NOW_NS for r in rows)
    recent = sum(r.span.start_time_unix_nano >= NOW_NS - 2 * HOUR_NS for r in calls)
    average_two_hours = len(calls) / (7 * 12)
    assert recent >= 3 * average_two_hours


def test_org_has_variety(calls: list[Row]) -> None:
    assert len({r.resource["agent.user.team"] for r in calls}) >= 5
    assert {r.resource["agent.harness.name"] for r in calls} == {
        "claude-code", "codex", "gemini-cli", "pi", "copilot", "custom-sdk",
    }  # fmt: skip
    assert {r.attrs["gen_ai.provider.name"] for r in calls} == {"anthropic", "openai", "gcp.gemini"}
    assert len({r.attrs["gen_ai.request.model"] for r in calls}) == 8
    assert {r.resource["deployment.environment.name"] for r in calls} == {"production", "staging"}
    assert all(r.attrs["agent.workspace.repo"].startswith("github.com/acme/") for r in calls)
    assert all(r.resource["agent.user.id"].endswith("@example.com") for r in calls)


def test_subscription_ci_and_error_rows(calls: list[Row]) -> None:
    subscription = [r for r in calls if r.attrs["agent.cost.estimation"] == "subscription"]
    assert subscription
    assert all(r.attrs["agent.cost.total.usd"] == 0.0 for r in subscription)
    assert {r.resource["agent.harness.name"] for r in subscription} == {"claude-code"}
    ci = [r for r in calls if r.attrs["agent.workspace.is_ci"] is True]
    assert ci and {r.resource["agent.user.id"] for r in ci} == {"ci-bot@example.com"}
    errors = [r for r in calls if r.span.status.code == Status.STATUS_CODE_ERROR]
    assert errors and all(r.attrs.get("error.type") for r in errors)
    assert len(errors) < 0.05 * len(calls)


def test_metered_costs_follow_list_prices(calls: list[Row]) -> None:
    sonnet = next(
        r
        for r in calls
        if r.attrs["gen_ai.request.model"] == "claude-sonnet-4-5-20250929"
        and r.attrs["agent.cost.estimation"] == "metered"
        and r.attrs["gen_ai.usage.cache_creation.input_tokens"] > 0
    )
    a = sonnet.attrs
    expected = (
        a["gen_ai.usage.input_tokens"] * 3
        + a["gen_ai.usage.output_tokens"] * 15
        + a["gen_ai.usage.cache_read.input_tokens"] * 0.30
        + a["gen_ai.usage.cache_creation.input_tokens"] * 3.75
    ) / 1e6
    assert a["agent.cost.total.usd"] == pytest.approx(expected, rel=1e-9, abs=1e-9)
    openai = [r for r in calls if r.attrs["gen_ai.provider.name"] == "openai"]
    assert all(r.attrs["gen_ai.usage.cache_creation.input_tokens"] == 0 for r in openai)
    reasoning = [r for r in openai if "gen_ai.usage.reasoning.output_tokens" in r.attrs]
    assert reasoning and {r.attrs["gen_ai.request.model"] for r in reasoning} <= {"gpt-5", "gpt-5-mini"}
    assert all(
        r.attrs["gen_ai.usage.reasoning.output_tokens"] <= r.attrs["gen_ai.usage.output_tokens"]
        for r in reasoning
    )


def test_long_context_gemini_pro_call(calls: list[Row]) -> None:
    def prompt(r: Row) -> int:
        a = r.attrs
        return (
            a["gen_ai.usage.input_tokens"]
            + a["gen_ai.usage.cache_read.input_tokens"]
            + a["gen_ai.usage.cache_creation.input_tokens"]
        )

    long_calls = [
        r for r in calls if r.attrs["gen_ai.request.model"] == "gemini-2.5-pro" and prompt(r) > 200_000
    ]
    assert long_calls
    a = next(r for r in long_calls if r.attrs["agent.cost.estimation"] == "metered").attrs
    expected = (
        a["gen_ai.usage.input_tokens"] * 2.5
        + a["gen_ai.usage.output_tokens"] * 15
        + a["gen_ai.usage.cache_read.input_tokens"] * 0.25
    ) / 1e6
    assert a["agent.cost.total.usd"] == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert call_cost_usd("gemini-2.5-pro", 200_000, 0, 0, 0) == pytest.approx(0.25)
    assert call_cost_usd("gemini-2.5-pro", 200_001, 0, 0, 0) == pytest.approx(0.5000025)


def test_otlp_json_uses_hex_ids_and_integer_enums(requests: list[ExportTraceServiceRequest]) -> None:
    request = requests[0]
    span = request.resource_spans[0].scope_spans[0].spans[1]
    encoded = json.loads(json.dumps(to_otlp_json(request)))
    spans = encoded["resourceSpans"][0]["scopeSpans"][0]["spans"]
    found = next(s for s in spans if s["spanId"] == span.span_id.hex())
    assert len(found["spanId"]) == 16 and found["spanId"] == found["spanId"].lower()
    assert bytes.fromhex(found["spanId"]) == span.span_id
    assert bytes.fromhex(found["traceId"]) == span.trace_id and len(found["traceId"]) == 32
    assert bytes.fromhex(found["parentSpanId"]) == span.parent_span_id
    assert found["kind"] == Span.SPAN_KIND_CLIENT
    assert "startTimeUnixNano" in found and "start_time_unix_nano" not in found


def test_endpoint_parsing() -> None:
    assert grpc_target("http://127.0.0.1:4317") == ("127.0.0.1:4317", False)
    assert grpc_target("127.0.0.1:4317") == ("127.0.0.1:4317", False)
    assert grpc_target("https://otel.example.com:443") == ("otel.example.com:443", True)
    assert http_url("http://127.0.0.1:4318/") == "http://127.0.0.1:4318/v1/traces"
    assert http_url("http://127.0.0.1:4318/v1/traces") == "http://127.0.0.1:4318/v1/traces"
    assert http_url("127.0.0.1:4318") == "http://127.0.0.1:4318/v1/traces"


# --- the client against local receivers ------------------------------------------------


@dataclass
class Receiver:
    """A scripted OTLP/HTTP receiver: answers are served in order, the last one repeats."""

    answers: list[tuple[int, dict[str, str], bytes]]
    received: list[tuple[str, str, bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(answers=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append((self.path, self.headers.get("Content-Type", ""), body))
            index = min(len(state.received), len(state.answers)) - 1
            status, headers, answer = state.answers[index]
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(answer))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def small_batch() -> list[ExportTraceServiceRequest]:
    return to_requests(generate(days=1, users=2, seed=3, now=NOW)[:3])


def _partial(rejected: int) -> ExportTraceServiceResponse:
    return ExportTraceServiceResponse(partial_success=ExportTracePartialSuccess(rejected_spans=rejected))


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff delays the client chose, recorded instead of slept."""
    recorded: list[float] = []
    # `seeder.send` the attribute is the function; the module is reached through importlib.
    monkeypatch.setattr(importlib.import_module("seeder.send"), "sleep", recorded.append)
    return recorded


def test_send_http_protobuf_retries_503_and_reports_rejections(
    receiver: Receiver, small_batch: list[ExportTraceServiceRequest], sleeps: list[float]
) -> None:
    receiver.answers = [
        (503, {"Retry-After": "0", "Content-Type": "text/plain"}, b"warming up"),
        (200, {"Content-Type": "application/x-protobuf"}, _partial(1).SerializeToString()),
    ]
    result = send(small_batch, receiver.url + "/", "http/protobuf", timeout=5)
    assert len(receiver.received) == 2, "one 503, then the retry"
    assert sleeps == [0.0], "Retry-After: 0 is honoured"
    path, content_type, body = receiver.received[-1]
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    assert ExportTraceServiceRequest.FromString(body) == small_batch[0]
    spans = sum(len(ss.spans) for rs in small_batch[0].resource_spans for ss in rs.scope_spans)
    assert (result.requests, result.spans_sent, result.spans_rejected) == (1, spans, 1)
    assert result.accepted == spans - 1
    assert 0 < result.model_calls < spans


def test_send_http_json_posts_otlp_json(
    receiver: Receiver, small_batch: list[ExportTraceServiceRequest]
) -> None:
    receiver.answers = [
        (200, {"Content-Type": "application/json"}, b'{"partialSuccess": {"rejectedSpans": "2"}}')
    ]
    result = send(small_batch, receiver.url + "/v1/traces", "http/json", timeout=5)
    path, content_type, body = receiver.received[0]
    assert (path, content_type) == ("/v1/traces", "application/json")
    span = json.loads(body)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["spanId"] == small_batch[0].resource_spans[0].scope_spans[0].spans[0].span_id.hex()
    assert result.spans_rejected == 2


def test_send_raises_on_refusal(receiver: Receiver, small_batch: list[ExportTraceServiceRequest]) -> None:
    receiver.answers = [
        (400, {"Content-Type": "text/plain"}, b"attribute gen_ai.usage.input_tokens is negative")
    ]
    with pytest.raises(SeedError, match=r"HTTP 400.*is negative"):
        send(small_batch, receiver.url, "http/protobuf", timeout=5)
    assert len(receiver.received) == 1, "a 400 is not retried"


def test_send_backoff_is_capped_and_bounded(
    receiver: Receiver, small_batch: list[ExportTraceServiceRequest], sleeps: list[float]
) -> None:
    receiver.answers = [
        (503, {"Retry-After": "30"}, b""),
        (429, {}, b""),
        (503, {"Retry-After": "0.25"}, b"still busy"),
    ]
    with pytest.raises(SeedError, match=r"after 5 retries.*503.*still busy"):
        send(small_batch, receiver.url, "http/protobuf", timeout=5)
    assert len(receiver.received) == 6
    assert sleeps == [5.0, 1.0, 0.25, 0.25, 0.25], "Retry-After capped at 5 s, exponential without it"


class _FlakyTraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.calls = 0

    def Export(
        self, request: ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> ExportTraceServiceResponse:
        self.calls += 1
        if self.calls == 1:  # with a RetryInfo hint of zero, as a collector under pressure sends it
            hint = status_pb2.Status(code=grpc.StatusCode.UNAVAILABLE.value[0], message="starting up")
            hint.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=Duration(seconds=0)))
            context.set_trailing_metadata((("grpc-status-details-bin", hint.SerializeToString()),))
            context.abort(grpc.StatusCode.UNAVAILABLE, "starting up")
        return _partial(1)


def test_send_grpc_retries_unavailable(
    small_batch: list[ExportTraceServiceRequest], sleeps: list[float]
) -> None:
    service = _FlakyTraceService()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        result = send(small_batch, f"http://127.0.0.1:{port}", "grpc", timeout=5)
    finally:
        server.stop(None)
    assert service.calls == 2
    assert sleeps == [0.0], "the RetryInfo hint from the status details is honoured"
    assert (result.requests, result.spans_rejected) == (1, 1)


def test_attribute_values_keep_their_types() -> None:
    kvs = key_values({"b": True, "i": 3, "f": 0.5, "s": "x", "a": ["stop"], "skip": None})
    assert [kv.key for kv in kvs] == ["b", "i", "f", "s", "a"]
    assert [kv.value.WhichOneof("value") for kv in kvs] == [
        "bool_value", "int_value", "double_value", "string_value", "array_value",
    ]  # fmt: skip
    assert isinstance(kvs[0], KeyValue)
