"""Flattened views of OTLP spans and log records, the input of every source adapter.

Adapters should not walk protobuf resource/scope nesting themselves; they get one record
with its resource attributes beside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from bridge.mapping.attributes import Attributes, any_value, to_dict


def ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).replace(microsecond=(ns // 1000) % 1_000_000)


@dataclass(slots=True)
class SpanRecord:
    """One OTLP span flattened for the adapters: decoded attributes, ids as hex, times in ns."""

    name: str
    attrs: Attributes
    resource: Attributes
    scope_name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    start_ns: int
    end_ns: int
    is_error: bool
    status_message: str

    def merged(self) -> Attributes:
        """Span attributes over resource attributes: the resource supplies defaults."""
        return {**self.resource, **self.attrs}


@dataclass(slots=True)
class LogRecord:
    """One OTLP log record flattened for the adapters: decoded body and attributes, ids as hex."""

    event_name: str
    body: Any
    attrs: Attributes
    resource: Attributes
    scope_name: str
    time_ns: int
    observed_ns: int
    trace_id: str
    span_id: str
    severity: str

    def merged(self) -> Attributes:
        return {**self.resource, **self.attrs}


def iter_spans(request: ExportTraceServiceRequest) -> Iterator[SpanRecord]:
    for resource_spans in request.resource_spans:
        resource = to_dict(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope_name = scope_spans.scope.name
            for span in scope_spans.spans:
                yield SpanRecord(
                    name=span.name,
                    attrs=to_dict(span.attributes),
                    resource=resource,
                    scope_name=scope_name,
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    is_error=span.status.code == Status.STATUS_CODE_ERROR,
                    status_message=span.status.message,
                )


def iter_logs(request: ExportLogsServiceRequest) -> Iterator[LogRecord]:
    for resource_logs in request.resource_logs:
        resource = to_dict(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope_name = scope_logs.scope.name
            for record in scope_logs.log_records:
                attrs = to_dict(record.attributes)
                event_name = record.event_name or str(attrs.get("event.name") or "")
                yield LogRecord(
                    event_name=event_name,
                    body=any_value(record.body),
                    attrs=attrs,
                    resource=resource,
                    scope_name=scope_name,
                    time_ns=record.time_unix_nano,
                    observed_ns=record.observed_time_unix_nano,
                    trace_id=record.trace_id.hex(),
                    span_id=record.span_id.hex(),
                    severity=record.severity_text,
                )
