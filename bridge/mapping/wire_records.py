"""OTLP records straight from the wire bytes of a ResourceSpans or ResourceLogs: what
`records.iter_spans` and `iter_logs` turn into SpanRecord and LogRecord when the wire reader
is on (bridge/mapping/wire.py says why and when, and how anything unexpected is handed back
to the protobuf objects).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from bridge.mapping.attributes import Attributes
from bridge.mapping.wire import (
    AttributeReader,
    any_value,
    length,
    read_fixed64,
    read_hex,
    read_tag,
    read_text,
    skip,
    varint,
)

# One span as iter_spans needs it: name, attributes, attributes clean, trace id, span id,
# parent span id (hex), start and end (ns), error status, status message.
SpanFields = tuple[str, Attributes, bool, str, str, str, int, int, bool, str]
_STATUS_ERROR: Final = 2
T = TypeVar("T")


def _attributes_of(buf: bytes, pos: int, end: int, field: int) -> tuple[Attributes, bool]:
    """The KeyValue list in field `field` of the message in buf[pos:end] (a Resource: 1)."""
    attrs = AttributeReader()
    want = (field << 3) | 2
    while pos < end:
        tag, pos = read_tag(buf, pos, end)
        if tag == want:
            start, pos = length(buf, pos, end)
            attrs.add(buf, start, pos)
        else:
            pos = skip(buf, tag & 7, pos, end)
    return attrs.result()


def _scope_name(buf: bytes, pos: int, end: int) -> str:
    name = ""
    while pos < end:
        tag, pos = read_tag(buf, pos, end)
        if tag == 0x0A:
            name, pos = read_text(buf, pos, end)
        else:
            pos = skip(buf, tag & 7, pos, end)
    return name


def _status(buf: bytes, pos: int, end: int) -> tuple[bool, str]:
    error = False
    message = ""
    while pos < end:
        tag, pos = read_tag(buf, pos, end)
        if tag == 0x12:  # 2: message
            message, pos = read_text(buf, pos, end)
        elif tag == 0x18:  # 3: code
            code, pos = varint(buf, pos, end)
            error = code == _STATUS_ERROR
        else:
            pos = skip(buf, tag & 7, pos, end)
    return error, message


def _span(buf: bytes, pos: int, end: int) -> SpanFields:
    name = trace_id = span_id = parent = message = ""
    start_ns = end_ns = 0
    error = False
    attrs = AttributeReader()
    while pos < end:
        tag, pos = read_tag(buf, pos, end)
        if tag == 0x4A:  # 9: attributes
            start, pos = length(buf, pos, end)
            attrs.add(buf, start, pos)
        elif tag == 0x2A:  # 5: name
            name, pos = read_text(buf, pos, end)
        elif tag == 0x0A:  # 1: trace_id
            trace_id, pos = read_hex(buf, pos, end)
        elif tag == 0x12:  # 2: span_id
            span_id, pos = read_hex(buf, pos, end)
        elif tag == 0x22:  # 4: parent_span_id
            parent, pos = read_hex(buf, pos, end)
        elif tag == 0x39:  # 7: start_time_unix_nano, fixed64
            start_ns, pos = read_fixed64(buf, pos, end)
        elif tag == 0x41:  # 8: end_time_unix_nano, fixed64
            end_ns, pos = read_fixed64(buf, pos, end)
        elif tag == 0x7A:  # 15: status
            start, pos = length(buf, pos, end)
            error, message = _status(buf, start, pos)
        else:
            pos = skip(buf, tag & 7, pos, end)
    attributes, clean = attrs.result()
    return name, attributes, clean, trace_id, span_id, parent, start_ns, end_ns, error, message


# One log record as iter_logs needs it: event name (the field; "" when unset), body, attributes,
# attributes clean, time and observed time (ns), trace id, span id (hex), severity text.
LogFields = tuple[str, Any, Attributes, bool, int, int, str, str, str]


def _log_record(buf: bytes, pos: int, end: int) -> LogFields:
    event_name = trace_id = span_id = severity = ""
    time_ns = observed_ns = 0
    body: Any = None
    attrs = AttributeReader()
    while pos < end:
        tag, pos = read_tag(buf, pos, end)
        if tag == 0x32:  # 6: attributes
            start, pos = length(buf, pos, end)
            attrs.add(buf, start, pos)
        elif tag == 0x2A:  # 5: body
            start, pos = length(buf, pos, end)
            body = any_value(buf, start, pos)
        elif tag == 0x09:  # 1: time_unix_nano, fixed64
            time_ns, pos = read_fixed64(buf, pos, end)
        elif tag == 0x59:  # 11: observed_time_unix_nano, fixed64
            observed_ns, pos = read_fixed64(buf, pos, end)
        elif tag == 0x1A:  # 3: severity_text
            severity, pos = read_text(buf, pos, end)
        elif tag == 0x4A:  # 9: trace_id
            trace_id, pos = read_hex(buf, pos, end)
        elif tag == 0x52:  # 10: span_id
            span_id, pos = read_hex(buf, pos, end)
        elif tag == 0x62:  # 12: event_name
            event_name, pos = read_text(buf, pos, end)
        else:
            pos = skip(buf, tag & 7, pos, end)
    attributes, clean = attrs.result()
    return event_name, body, attributes, clean, time_ns, observed_ns, trace_id, span_id, severity


def resource_spans(buf: bytes) -> tuple[Attributes, bool, list[tuple[str, list[SpanFields]]]]:
    """A serialized ResourceSpans: its resource's attributes (and clean flag) and, per
    ScopeSpans in order, the scope's name and its spans' fields. Raises Unusual (a ValueError,
    or UnicodeDecodeError) on bytes it does not handle."""
    return _resource_block(buf, _span)


def resource_logs(buf: bytes) -> tuple[Attributes, bool, list[tuple[str, list[LogFields]]]]:
    """A serialized ResourceLogs, as resource_spans reads a ResourceSpans."""
    return _resource_block(buf, _log_record)


def _resource_block(
    buf: bytes, item: Callable[[bytes, int, int], T]
) -> tuple[Attributes, bool, list[tuple[str, list[T]]]]:
    """ResourceSpans and ResourceLogs alike: 1 resource, 2 repeated scope blocks."""
    end = len(buf)
    pos = 0
    resource: Attributes = {}
    resource_clean = True
    scopes: list[tuple[str, list[T]]] = []
    while pos < end:
        tag, pos = read_tag(buf, pos, end)
        if tag == 0x12:  # 2: scope_spans / scope_logs
            start, pos = length(buf, pos, end)
            scopes.append(_scope_block(buf, start, pos, item))
        elif tag == 0x0A:  # 1: resource
            start, pos = length(buf, pos, end)
            resource, resource_clean = _attributes_of(buf, start, pos, 1)
        else:
            pos = skip(buf, tag & 7, pos, end)
    return resource, resource_clean, scopes


def _scope_block(buf: bytes, pos: int, end: int, item: Callable[[bytes, int, int], T]) -> tuple[str, list[T]]:
    """ScopeSpans and ScopeLogs alike: 1 scope (its name), 2 repeated spans / log records."""
    scope = ""
    items: list[T] = []
    while pos < end:
        tag, pos = read_tag(buf, pos, end)
        if tag == 0x12:  # 2: spans / log_records
            start, pos = length(buf, pos, end)
            items.append(item(buf, start, pos))
        elif tag == 0x0A:  # 1: scope
            start, pos = length(buf, pos, end)
            scope = _scope_name(buf, start, pos)
        else:
            pos = skip(buf, tag & 7, pos, end)
    return scope, items
