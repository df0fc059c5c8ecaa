"""Map decoded OTLP requests to model calls: one adapter per source family.

Each adapter module exposes `claims(record) -> bool` and `map_span(record)` or
`map_log(record)` returning a `ModelCall`, or None for "not a model call" (ignored, not
rejected), or raising `Rejected`. The first adapter that claims a record decides it, so
specific harness adapters come before the generic GenAI conventions. Every call an adapter
returns then passes `validate.validate_call` (nothing the database could refuse), so a bad
value is a per-record rejection naming the field, never a failed batch.

Spans also yield `SpanContext`s: the links of a GenAI trace and the identity each carries,
so a call inherits the user, session or repository it lacks from an ancestor span, in the
same export or a later one (bridge/store/writer.py, docs/sources.md "Trace context").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bridge.mapping import (
    claude_code,
    codex,
    copilot,
    gemini_cli,
    openinference,
    openlit,
    openllmetry,
    semconv,
    semconv_events,
    vercel_ai,
)
from bridge.mapping.identity import ancestor_identity
from bridge.mapping.records import LogRecord, SpanRecord, iter_logs, iter_spans
from bridge.mapping.validate import safe_example, safe_reason, validate_call, validate_context
from bridge.model import INHERITED_FIELDS, ModelCall, Rejected, SpanContext, lacks_key_identity

R = TypeVar("R", SpanRecord, LogRecord)


@dataclass(slots=True)
class Rejection:
    """A record refused as an invalid model call: the reason and a trimmed example for the log table."""

    reason: str
    example: dict[str, Any]


@dataclass(slots=True)
class MappingResult:
    """The model calls and rejections mapped from one export request."""

    calls: list[ModelCall] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    contexts: list[SpanContext] = field(default_factory=list)
    ignored: int = 0
    records: int = 0


SpanMapper = tuple[Callable[[SpanRecord], bool], Callable[[SpanRecord], ModelCall | None]]
LogMapper = tuple[Callable[[LogRecord], bool], Callable[[LogRecord], ModelCall | None]]

# Harness and library adapters claim narrowly (span names, attribute namespaces, scopes) and
# come first; the GenAI conventions take whatever is left.
SPAN_ADAPTERS: list[SpanMapper] = [
    (claude_code.claims_span, claude_code.map_span),
    (codex.claims_span, codex.map_span),
    (gemini_cli.claims_span, gemini_cli.map_span),
    (vercel_ai.claims, vercel_ai.map_span),
    (openinference.claims, openinference.map_span),
    (openllmetry.claims, openllmetry.map_span),
    (openlit.claims, openlit.map_span),
    (copilot.claims, copilot.map_span),
    (semconv.claims, semconv.map_span),
]
LOG_ADAPTERS: list[LogMapper] = [
    (claude_code.claims_log, claude_code.map_log),
    (codex.claims_log, codex.map_log),
    (gemini_cli.claims_log, gemini_cli.map_log),
    (semconv_events.claims, semconv_events.map_log),
]


def _map_all(
    records: Iterable[R],
    adapters: list[tuple[Callable[[R], bool], Callable[[R], ModelCall | None]]],
    describe: Callable[[R], dict[str, Any]],
    link: Callable[[R, ModelCall | None, bool, MappingResult], None],
) -> MappingResult:
    result = MappingResult()
    for record in records:
        result.records += 1
        claimed = False
        call: ModelCall | None = None
        for claims, map_one in adapters:
            if not claims(record):
                continue
            claimed = True
            try:
                call = map_one(record)
                if call is not None:
                    # A call's attributes are its record's own (less content keys), plus at
                    # most text from its resource (Claude Code's service variant): clean when
                    # both were found clean while flattened.
                    validate_call(call, attributes_clean=record.attrs_clean)
            except Rejected as exc:
                result.rejections.append(Rejection(safe_reason(str(exc)), safe_example(describe(record))))
                claimed = False  # a refused record is no link either
                call = None
                break
            if call is None:
                result.ignored += 1
            else:
                result.calls.append(call)
            break
        else:
            result.ignored += 1
        link(record, call, claimed, result)
    return result


def _link_span(span: SpanRecord, call: ModelCall | None, claimed: bool, result: MappingResult) -> None:
    """Record the span as a trace-context link: a call's parent, and what it offers descendants.

    Kept: claimed non-call spans (invoke_agent, execute_tool) with a parent or identity of
    their own; unclaimed spans only when they carry identity themselves (a framework's run
    span), so an unrelated service's HTTP spans are never stored; and calls that lack a user,
    session or repository, as the link an event of the same call walks up through.
    """
    parent = span.parent_span_id or None
    if call is not None:
        if call.trace_id != span.trace_id or call.span_id != span.span_id:
            return  # an adapter that keys the call on something else: not this span's row
        call.parent_span_id = parent
        if parent is None or not lacks_key_identity(call):
            return
    offered = ancestor_identity(span.attrs)
    offers = any(getattr(offered, name) for name in INHERITED_FIELDS)
    if call is None and not offers and not (claimed and parent):
        return
    ctx = validate_context(SpanContext(span.trace_id, span.span_id, parent, offered))
    if ctx is not None:
        result.contexts.append(ctx)


def _link_log(log: LogRecord, call: ModelCall | None, claimed: bool, result: MappingResult) -> None:
    """A call from a log record inherits through the span it was emitted in, if any."""
    if call is not None and call.trace_id and call.span_id:
        call.parent_span_id = call.span_id


def _describe_span(span: SpanRecord) -> dict[str, Any]:
    return {"name": span.name, "trace_id": span.trace_id, "span_id": span.span_id}


def _describe_log(log: LogRecord) -> dict[str, Any]:
    return {"event_name": log.event_name, "time_unix_nano": str(log.time_ns)}


def map_traces(request: ExportTraceServiceRequest) -> MappingResult:
    return _map_all(iter_spans(request), SPAN_ADAPTERS, _describe_span, _link_span)


def map_logs(request: ExportLogsServiceRequest) -> MappingResult:
    return _map_all(iter_logs(request), LOG_ADAPTERS, _describe_log, _link_log)
