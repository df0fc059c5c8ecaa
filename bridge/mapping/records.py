"""Flattened views of OTLP spans and log records, the input of every source adapter.

Adapters should not walk protobuf resource/scope nesting themselves; they get one record
with its resource attributes beside it, and the facts they claim by, computed once per record
(or per resource) instead of by each adapter re-scanning the attributes (issue 12):
`namespaces`, which of CLAIM_NAMESPACES the record's own attribute keys fall in, and
`service_harness`, the harness its resource's `service.name` names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Status

from bridge.mapping import wire, wire_records
from bridge.mapping.attributes import Attributes, any_value, text, to_dict_checked
from bridge.mapping.identity import harness_from_service

# The attribute namespaces adapters claim records by (`agent.x` is in `agent.`). A namespace is
# a key's first dotted segment, or its first two (`codex.usage.`) when the first alone is not one.
CLAIM_NAMESPACES = (
    "agent.",
    "codex.usage.",
    "llm.token_count.",
    "llm.usage.",
    "traceloop.",
    "copilot_chat.",
    "github.copilot.",
)
_FIRST_SEGMENTS = frozenset(ns for ns in CLAIM_NAMESPACES if ns.count(".") == 1)
assert all(ns.count(".") == 1 or ns[: ns.index(".") + 1] not in _FIRST_SEGMENTS for ns in CLAIM_NAMESPACES), (
    "a two-segment namespace under a one-segment one would be reported as the latter"
)
NO_NAMESPACES: frozenset[str] = frozenset()


# Records of one emitter repeat the same keys in the same order: the answer is remembered
# per key sequence (bounded against junk; past the bound, keys are just scanned again).
_NAMESPACES_BY_SHAPE: dict[tuple[str, ...], frozenset[str]] = {}
MAX_SHAPES = 4096


def attribute_namespaces(attrs: Mapping[str, Any]) -> frozenset[str]:
    """Which CLAIM_NAMESPACES the keys of `attrs` fall in: `"agent." in namespaces` is exactly
    `any(key.startswith("agent.") for key in attrs)`."""
    shape = tuple(attrs)
    found = _NAMESPACES_BY_SHAPE.get(shape)
    if found is None:
        found = _scan_namespaces(shape)
        if len(_NAMESPACES_BY_SHAPE) < MAX_SHAPES:
            _NAMESPACES_BY_SHAPE[shape] = found
    return found


def _scan_namespaces(keys: tuple[str, ...]) -> frozenset[str]:
    """One prefix test per key (in C), then Python only over the keys that matched."""
    hits = [key for key in keys if key.startswith(CLAIM_NAMESPACES)]
    if not hits:
        return NO_NAMESPACES
    found = set()
    for key in hits:
        head = key[: key.index(".") + 1]
        found.add(head if head in _FIRST_SEGMENTS else key[: key.index(".", len(head)) + 1])
    return frozenset(found)


def resource_harness(resource: Attributes) -> str | None:
    """`harness_from_service` of the resource's `service.name`: once per resource, not per adapter."""
    return harness_from_service(text(resource, "service.name"))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns_to_datetime(ns: int) -> datetime:
    """UTC, truncated to the microsecond: the same value as `fromtimestamp(s, UTC)` with the
    microseconds replaced, built with one addition instead of a conversion and a replace."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


@dataclass(slots=True, init=False)  # a written __init__: see the note above model.Tokens
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
    service_harness: str | None = None
    # Its own attributes and its resource's were found clean while flattened (no NUL, invalid
    # UTF-8 or non-finite float, no list or map): what `validate_call` may skip checking again.
    # False when unknown (a record built elsewhere).
    attrs_clean: bool = False
    _namespaces: frozenset[str] | None = field(default=None, repr=False, compare=False)
    _merged: Attributes | None = field(default=None, repr=False, compare=False)

    def __init__(
        self,
        name: str,
        attrs: Attributes,
        resource: Attributes,
        scope_name: str,
        trace_id: str,
        span_id: str,
        parent_span_id: str,
        start_ns: int,
        end_ns: int,
        is_error: bool,
        status_message: str,
        service_harness: str | None = None,
        attrs_clean: bool = False,
        _namespaces: frozenset[str] | None = None,
        _merged: Attributes | None = None,
    ) -> None:
        self.name = name
        self.attrs = attrs
        self.resource = resource
        self.scope_name = scope_name
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.is_error = is_error
        self.status_message = status_message
        self.service_harness = service_harness
        self.attrs_clean = attrs_clean
        self._namespaces = _namespaces
        self._merged = _merged

    @property
    def namespaces(self) -> frozenset[str]:
        """Which CLAIM_NAMESPACES the span's own attribute keys fall in (computed once)."""
        if self._namespaces is None:
            self._namespaces = attribute_namespaces(self.attrs)
        return self._namespaces

    def merged(self) -> Attributes:
        """Span attributes over resource attributes: the resource supplies defaults.

        Built once per record and shared: callers read it, never write to it."""
        if self._merged is None:
            self._merged = {**self.resource, **self.attrs}
        return self._merged


@dataclass(slots=True, init=False)  # a written __init__: see the note above model.Tokens
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
    service_harness: str | None = None
    # Its own attributes and its resource's were found clean while flattened (no NUL, invalid
    # UTF-8 or non-finite float, no list or map): what `validate_call` may skip checking again.
    # False when unknown (a record built elsewhere).
    attrs_clean: bool = False
    _namespaces: frozenset[str] | None = field(default=None, repr=False, compare=False)
    _merged: Attributes | None = field(default=None, repr=False, compare=False)

    def __init__(
        self,
        event_name: str,
        body: Any,
        attrs: Attributes,
        resource: Attributes,
        scope_name: str,
        time_ns: int,
        observed_ns: int,
        trace_id: str,
        span_id: str,
        severity: str,
        service_harness: str | None = None,
        attrs_clean: bool = False,
        _namespaces: frozenset[str] | None = None,
        _merged: Attributes | None = None,
    ) -> None:
        self.event_name = event_name
        self.body = body
        self.attrs = attrs
        self.resource = resource
        self.scope_name = scope_name
        self.time_ns = time_ns
        self.observed_ns = observed_ns
        self.trace_id = trace_id
        self.span_id = span_id
        self.severity = severity
        self.service_harness = service_harness
        self.attrs_clean = attrs_clean
        self._namespaces = _namespaces
        self._merged = _merged

    @property
    def namespaces(self) -> frozenset[str]:
        """Which CLAIM_NAMESPACES the record's own attribute keys fall in (computed once)."""
        if self._namespaces is None:
            self._namespaces = attribute_namespaces(self.attrs)
        return self._namespaces

    def merged(self) -> Attributes:
        """Record attributes over resource attributes, built once; callers never write to it."""
        if self._merged is None:
            self._merged = {**self.resource, **self.attrs}
        return self._merged


B = TypeVar("B", ResourceSpans, ResourceLogs)  # a resource block of an export request
R = TypeVar("R", "SpanRecord", "LogRecord")

# Read records from the wire bytes only where the reader is compiled: interpreted, it is about
# twice as slow as upb's objects (docs/scale.md "The wire reader"). A module global, not Final,
# so the tests can run both readers in either mode.
WIRE_READS = not wire.__file__.endswith(".py")


def iter_spans(request: ExportTraceServiceRequest) -> Iterator[SpanRecord]:
    """Every span of the request as a record, in order (see `_read_blocks`)."""
    return _read_blocks(request.resource_spans, spans_from_wire, _spans_of)


def spans_from_wire(resource_spans: ResourceSpans) -> list[SpanRecord]:
    """One ResourceSpans' records read from upb's encoding of it by wire_records; raises
    ValueError (wire.Unusual) for what that reader does not handle."""
    resource, resource_clean, scopes = wire_records.resource_spans(resource_spans.SerializeToString())
    harness = resource_harness(resource)
    return [
        SpanRecord(
            name=name,
            attrs=attrs,
            resource=resource,
            scope_name=scope_name,
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent,
            start_ns=start_ns,
            end_ns=end_ns,
            is_error=error,
            status_message=message,
            service_harness=harness,
            attrs_clean=clean and resource_clean,
        )
        for scope_name, spans in scopes
        for name, attrs, clean, trace_id, span_id, parent, start_ns, end_ns, error, message in spans
    ]


def _spans_of(resource_spans: ResourceSpans) -> Iterator[SpanRecord]:
    """The records of one ResourceSpans read through the protobuf objects: the reference
    `wire` is tested against, and the reader of what `wire` does not handle."""
    resource, resource_clean = to_dict_checked(resource_spans.resource.attributes)
    harness = resource_harness(resource)
    for scope_spans in resource_spans.scope_spans:
        scope_name = scope_spans.scope.name
        for span in scope_spans.spans:
            attrs, clean = to_dict_checked(span.attributes)
            yield SpanRecord(
                name=span.name,
                attrs=attrs,
                resource=resource,
                scope_name=scope_name,
                trace_id=span.trace_id.hex(),
                span_id=span.span_id.hex(),
                parent_span_id=span.parent_span_id.hex(),
                start_ns=span.start_time_unix_nano,
                end_ns=span.end_time_unix_nano,
                is_error=span.status.code == Status.STATUS_CODE_ERROR,
                status_message=span.status.message,
                service_harness=harness,
                attrs_clean=clean and resource_clean,
            )


def iter_logs(request: ExportLogsServiceRequest) -> Iterator[LogRecord]:
    """Every log record of the request, in order (see `_read_blocks`)."""
    return _read_blocks(request.resource_logs, logs_from_wire, _logs_of)


def _read_blocks(
    blocks: Iterable[B], from_wire: Callable[[B], list[R]], through_objects: Callable[[B], Iterator[R]]
) -> Iterator[R]:
    """Each resource block's records read from its own encoding (`from_wire`) when the wire
    reader is on; else, or when that reader hands the block back, through the protobuf objects:
    the same records either way."""
    for block in blocks:
        read = None
        if WIRE_READS:
            with suppress(ValueError):  # wire.Unusual, or text that is not UTF-8: the other way
                read = from_wire(block)
        yield from read if read is not None else through_objects(block)


def logs_from_wire(resource_logs: ResourceLogs) -> list[LogRecord]:
    """One ResourceLogs' records read from upb's encoding of it (see spans_from_wire)."""
    resource, resource_clean, scopes = wire_records.resource_logs(resource_logs.SerializeToString())
    harness = resource_harness(resource)
    return [
        LogRecord(
            event_name=event or str(attrs.get("event.name") or ""),
            body=body,
            attrs=attrs,
            resource=resource,
            scope_name=scope_name,
            time_ns=time_ns,
            observed_ns=observed_ns,
            trace_id=trace_id,
            span_id=span_id,
            severity=severity,
            service_harness=harness,
            attrs_clean=clean and resource_clean,
        )
        for scope_name, records in scopes
        for event, body, attrs, clean, time_ns, observed_ns, trace_id, span_id, severity in records
    ]


def _logs_of(resource_logs: ResourceLogs) -> Iterator[LogRecord]:
    """The records of one ResourceLogs read through the protobuf objects (see `_spans_of`)."""
    resource, resource_clean = to_dict_checked(resource_logs.resource.attributes)
    harness = resource_harness(resource)
    for scope_logs in resource_logs.scope_logs:
        scope_name = scope_logs.scope.name
        for record in scope_logs.log_records:
            attrs, clean = to_dict_checked(record.attributes)
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
                service_harness=harness,
                attrs_clean=clean and resource_clean,
            )
