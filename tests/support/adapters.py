"""Protobuf payload builders shared by the adapter tests.

Adapter tests build real `ExportTraceServiceRequest` / `ExportLogsServiceRequest` messages (and
OTLP/JSON bodies through `decode_json`), so every test runs the same flattening, attribute
decoding and dispatch code a request from a harness runs.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from bridge.mapping import MappingResult, map_logs, map_traces
from bridge.model import ModelCall
from tests.support.otlp import NOW_NS

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
    observed_ns: int | None = None,
    event_name: str = "",
    trace_id: str = "",
    span_id: str = "",
) -> LogRecord:
    """`observed_ns` defaults to `time_ns`; exporters that never set the event time pass 0 and it."""
    record = LogRecord(
        time_unix_nano=time_ns,
        observed_time_unix_nano=time_ns if observed_ns is None else observed_ns,
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
