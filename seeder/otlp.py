"""Synthetic traces as OTLP export requests, the way an agent's batch exporter would send them.

This module is the seeder's half of the attribute contract with the bridge: every attribute
name a model-call row depends on is spelled here and nowhere else. Requests are cut in time
order, as a collector would forward them, with one ResourceSpans per emitting process
(harness + machine + user) inside each request.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from seeder.catalog import SERVER_ADDRESSES
from seeder.traces import AgentResource, ModelCall, SyntheticTrace, ToolCall

MAX_SPANS_PER_REQUEST = 500
SCOPE = InstrumentationScope(name="agent_spend.seeder", version="0.1.0")
MODEL_CALL_KIND = "model_call"

AttrValue = str | bool | int | float | Sequence[str]


def any_value(value: AttrValue) -> AnyValue:
    # bool before int: True is an int in Python but must stay a bool on the wire.
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    return AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=v) for v in value]))


def key_values(attrs: Mapping[str, AttrValue | None]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attrs.items() if v is not None]


def resource_attributes(resource: AgentResource) -> dict[str, AttrValue | None]:
    return {
        "service.name": resource.service_name,
        "service.version": resource.service_version,
        "deployment.environment.name": resource.environment,
        "agent.user.id": resource.user_id,
        "agent.user.team": resource.team,
        "agent.machine.id": resource.machine_id,
        "agent.harness.name": resource.harness_name,
        "agent.harness.version": resource.harness_version,
    }


def _session_attributes(trace: SyntheticTrace) -> dict[str, AttrValue | None]:
    session = trace.session
    return {
        "gen_ai.conversation.id": session.session_id,
        "agent.session.id": session.session_id,
        "agent.workspace.cwd": session.cwd,
        "agent.workspace.repo": session.repo,
        "agent.workspace.branch": session.branch,
        "agent.workspace.is_ci": session.is_ci,
    }


def model_call_attributes(trace: SyntheticTrace, call: ModelCall) -> dict[str, AttrValue | None]:
    usage = call.usage
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": call.provider,
        "gen_ai.request.model": call.model,
        "gen_ai.response.model": call.model,
        "gen_ai.response.id": call.response_id,
        "server.address": SERVER_ADDRESSES[call.provider],
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cache_read_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
        "gen_ai.usage.reasoning.output_tokens": usage.reasoning_tokens if usage.reasoning_tokens else None,
        "gen_ai.response.finish_reasons": [call.finish_reason] if call.finish_reason else None,
        **_session_attributes(trace),
        "agent.api.dialect": call.dialect,
        "agent.stop_reason": call.stop_reason,
        "agent.event.kind": MODEL_CALL_KIND,
        "agent.cost.estimation": trace.session.cost_estimation,
        "agent.cost.total.usd": float(call.cost_usd),
        "error.type": call.error_type,
    }


def agent_attributes(trace: SyntheticTrace) -> dict[str, AttrValue | None]:
    """The invoke_agent root repeats its children's usage on purpose: a bridge that bills it double-counts."""
    usage = trace.usage
    return {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": trace.resource.harness_name,
        "gen_ai.provider.name": trace.agent_provider,
        "gen_ai.request.model": trace.agent_model,
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cache_read_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
        "gen_ai.usage.reasoning.output_tokens": usage.reasoning_tokens,
        **_session_attributes(trace),
        "agent.cost.estimation": trace.session.cost_estimation,
        "agent.cost.total.usd": trace.cost_usd,
    }


def tool_attributes(trace: SyntheticTrace, tool: ToolCall) -> dict[str, AttrValue | None]:
    return {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": tool.name,
        "gen_ai.tool.call.id": tool.call_id,
        **_session_attributes(trace),
    }


def trace_spans(trace: SyntheticTrace) -> list[Span]:
    root = Span(
        trace_id=trace.trace_id,
        span_id=trace.root_span_id,
        name=f"invoke_agent {trace.resource.harness_name}",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=trace.start_ns,
        end_time_unix_nano=trace.end_ns,
        attributes=key_values(agent_attributes(trace)),
    )
    spans = [root]
    for call in trace.model_calls:
        status = (
            Status(code=Status.STATUS_CODE_ERROR, message=call.error_message or call.error_type or "")
            if call.error_type
            else None
        )
        spans.append(
            Span(
                trace_id=trace.trace_id,
                span_id=call.span_id,
                parent_span_id=trace.root_span_id,
                name=f"chat {call.model}",
                kind=Span.SPAN_KIND_CLIENT,
                start_time_unix_nano=call.start_ns,
                end_time_unix_nano=call.end_ns,
                attributes=key_values(model_call_attributes(trace, call)),
                status=status,
            )
        )
    for tool in trace.tool_calls:
        spans.append(
            Span(
                trace_id=trace.trace_id,
                span_id=tool.span_id,
                parent_span_id=trace.root_span_id,
                name=f"execute_tool {tool.name}",
                kind=Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=tool.start_ns,
                end_time_unix_nano=tool.end_ns,
                attributes=key_values(tool_attributes(trace, tool)),
            )
        )
    return spans


def to_requests(
    traces: Iterable[SyntheticTrace], max_spans: int = MAX_SPANS_PER_REQUEST
) -> list[ExportTraceServiceRequest]:
    """Batches in trace order; a trace is never split across requests unless it alone exceeds `max_spans`."""
    if max_spans < 1:
        raise ValueError("max_spans must be positive")
    requests: list[ExportTraceServiceRequest] = []
    current: dict[AgentResource, list[Span]] = {}
    count = 0

    def flush() -> None:
        nonlocal current, count
        if count:
            requests.append(_request(current))
        current, count = {}, 0

    for trace in traces:
        spans = trace_spans(trace)
        if count and count + len(spans) > max_spans:
            flush()
        for span in spans:
            if count >= max_spans:
                flush()
            current.setdefault(trace.resource, []).append(span)
            count += 1
    flush()
    return requests


def _request(groups: Mapping[AgentResource, list[Span]]) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=key_values(resource_attributes(resource))),
                scope_spans=[ScopeSpans(scope=SCOPE, spans=spans)],
            )
            for resource, spans in groups.items()
        ]
    )


def count_spans(request: ExportTraceServiceRequest) -> tuple[int, int]:
    """(all spans, model-call spans) in a request, the latter recognised by agent.event.kind."""
    spans = model_calls = 0
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans += 1
                model_calls += any(
                    kv.key == "agent.event.kind" and kv.value.string_value == MODEL_CALL_KIND
                    for kv in span.attributes
                )
    return spans, model_calls


_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(node: Any) -> Any:
    """OTLP/JSON deviates from proto3 JSON: ids are hex strings, not base64."""
    if isinstance(node, dict):
        return {
            k: base64.b64decode(v).hex() if k in _ID_FIELDS and isinstance(v, str) else _hex_ids(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def to_otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """The OTLP/JSON form: camelCase names, enums as integers, ids as lowercase hex."""
    document: dict[str, Any] = _hex_ids(MessageToDict(request, use_integers_for_enums=True))
    return document
