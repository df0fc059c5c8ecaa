"""Protobuf payload builders shared by the adapter tests, and tests of the shared mapping helpers.

Adapter tests build real `ExportTraceServiceRequest` / `ExportLogsServiceRequest` messages (and
OTLP/JSON bodies through `decode_json`), so every test runs the same flattening, attribute
decoding and dispatch code a request from a harness runs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from bridge.mapping import MappingResult, map_logs, map_traces
from bridge.mapping.common import short_hash
from bridge.mapping.identity import harness_from_service, identity, reported_cost
from bridge.model import ModelCall
from tests.otlp_payloads import NOW_NS

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def value(raw: Any) -> AnyValue:
    if isinstance(raw, bool):
        return AnyValue(bool_value=raw)
    if isinstance(raw, int):
        return AnyValue(int_value=raw)
    if isinstance(raw, float):
        return AnyValue(double_value=raw)
    if isinstance(raw, list):
        return AnyValue(array_value=ArrayValue(values=[value(v) for v in raw]))
    return AnyValue(string_value=str(raw))


def kvs(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=value(v)) for k, v in attrs.items() if v is not None]


def log(
    attrs: dict[str, Any],
    *,
    body: str | None = None,
    time_ns: int = NOW_NS,
    event_name: str = "",
    trace_id: str = "",
    span_id: str = "",
) -> LogRecord:
    record = LogRecord(
        time_unix_nano=time_ns,
        observed_time_unix_nano=time_ns,
        attributes=kvs(attrs),
        event_name=event_name,
        trace_id=bytes.fromhex(trace_id),
        span_id=bytes.fromhex(span_id),
    )
    if body is not None:
        record.body.CopyFrom(AnyValue(string_value=body))
    return record


def logs(
    resource: dict[str, Any], records: list[LogRecord], scope: str = "tests"
) -> ExportLogsServiceRequest:
    return ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(attributes=kvs(resource)),
                scope_logs=[ScopeLogs(scope=InstrumentationScope(name=scope), log_records=records)],
            )
        ]
    )


def span(
    name: str,
    attrs: dict[str, Any],
    span_id: str,
    *,
    parent: str = "",
    trace_id: str = TRACE_ID,
    start_ns: int = NOW_NS,
    duration_ms: int = 2000,
    error: bool = False,
) -> Span:
    return Span(
        trace_id=bytes.fromhex(trace_id),
        span_id=bytes.fromhex(span_id),
        parent_span_id=bytes.fromhex(parent),
        name=name,
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + duration_ms * 1_000_000,
        attributes=kvs(attrs),
        status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_UNSET),
    )


def traces(resource: dict[str, Any], spans: list[Span], scope: str = "tests") -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=kvs(resource)),
                scope_spans=[ScopeSpans(scope=InstrumentationScope(name=scope), spans=spans)],
            )
        ]
    )


def only_call(result: MappingResult) -> ModelCall:
    assert not result.rejections, [r.reason for r in result.rejections]
    assert len(result.calls) == 1, result.calls
    return result.calls[0]


def call_of_log(resource: dict[str, Any], attrs: dict[str, Any], **kw: Any) -> ModelCall:
    return only_call(map_logs(logs(resource, [log(attrs, **kw)])))


def call_of_span(resource: dict[str, Any], name: str, attrs: dict[str, Any], **kw: Any) -> ModelCall:
    return only_call(map_traces(traces(resource, [span(name, attrs, "00f067aa0ba902b7", **kw)])))


# -- the shared helpers -------------------------------------------------------------------


def test_short_hash_is_stable_and_order_sensitive() -> None:
    assert short_hash("a", 1, None) == short_hash("a", 1, None)
    assert short_hash("a", 1) != short_hash(1, "a")
    assert len(short_hash("x")) == 24


def test_identity_precedence() -> None:
    every = {
        "agent.user.id": "agent-user",
        "user.email": "ana@example.com",
        "user.id": "u-1",
        "enduser.id": "end-1",
        "user.account_uuid": "acc-uuid",
        "agent.session.id": "s-agent",
        "session.id": "s-session",
        "conversation.id": "s-conv",
        "gen_ai.conversation.id": "s-genai",
        "service.name": "claude-code",
    }
    keys = ["agent.user.id", "user.email", "user.id", "enduser.id", "user.account_uuid"]
    for i, key in enumerate(keys):
        attrs = {k: v for k, v in every.items() if k not in keys[:i]}
        assert identity(attrs).user_id == every[key]
    sessions = ["agent.session.id", "session.id", "conversation.id", "gen_ai.conversation.id"]
    for i, key in enumerate(sessions):
        attrs = {k: v for k, v in every.items() if k not in sessions[:i]}
        assert identity(attrs).session_id == every[key]
    assert identity({"service.name": "claude-code", "agent.harness.name": "pi"}).harness_name == "pi"
    assert identity({"service.name": "codex_cli_rs"}).harness_name == "codex"
    assert identity({"service.name": "unknown_service:node"}, default_harness="x").harness_name == "x"


def test_harness_from_service_names() -> None:
    assert harness_from_service("gemini-cli") == "gemini-cli"
    assert harness_from_service("copilot-chat") == "copilot"
    assert harness_from_service("github-copilot") == "copilot"
    assert harness_from_service("codex_exec") == "codex"
    assert harness_from_service("codex_vscode") == "codex"
    assert harness_from_service("pi-usage-reporter") == "pi"
    assert harness_from_service("pipeline-api") == "pipeline-api"
    assert harness_from_service("my-agent") == "my-agent"
    assert harness_from_service(None) is None


def test_reported_cost_keeps_the_decimal_form_of_the_double() -> None:
    assert reported_cost({"cost_usd": 0.1 + 0.2}, "cost_usd").total == Decimal("0.30000000000000004")
    assert reported_cost({"agent.cost.total.usd": "1.25"}).total == Decimal("1.25")
    assert reported_cost({}).total is None
