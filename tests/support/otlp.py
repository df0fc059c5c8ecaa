"""Builders for OTLP payloads used by the tests: real SDK spans and raw OTLP/JSON bodies."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Tracer

# The instant the payloads were captured: fixed, so no test depends on the wall clock. The bridge
# accepts any time from 2020 up to a day ahead of its clock, so a past instant always goes in.
NOW = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)
NOW_NS = int(NOW.timestamp()) * 1_000_000_000
# Far beyond any clock the tests run with: the bridge rejects it as "more than a day in the future".
FAR_FUTURE_NS = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000_000


@contextmanager
def sdk_tracer(exporter: SpanExporter, resource: dict[str, Any]) -> Iterator[Tracer]:
    """A tracer whose spans are exported synchronously through `exporter` when they end."""
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider.get_tracer("agent-spend-tests")
    finally:
        provider.shutdown()


def chat_span(
    tracer: Tracer,
    name: str,
    attributes: dict[str, Any],
    start_ns: int = NOW_NS,
    duration_ms: int = 1500,
    parent: Any = None,
) -> Any:
    from opentelemetry import trace

    ctx = trace.set_span_in_context(parent) if parent is not None else None
    span = tracer.start_span(
        name, kind=SpanKind.CLIENT, attributes=attributes, start_time=start_ns, context=ctx
    )
    span.end(end_time=start_ns + duration_ms * 1_000_000)
    return span


def kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [kv("", v)["value"] for v in value]}}}
    return {"key": key, "value": {"stringValue": str(value)}}


def json_span(
    trace_id: str,
    span_id: str,
    name: str,
    attributes: dict[str, Any],
    start_ns: int = NOW_NS,
    duration_ms: int = 1000,
    parent_span_id: str = "",
    status_code: int = 0,
) -> dict[str, Any]:
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "parentSpanId": parent_span_id,
        "name": name,
        "kind": 3,
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": start_ns + duration_ms * 1_000_000,  # numbers are fine too
        "attributes": [kv(k, v) for k, v in attributes.items()],
        "status": {"code": status_code},
        "someFutureField": {"ignored": True},
    }


def json_traces(resource: dict[str, Any], spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [kv(k, v) for k, v in resource.items()]},
                "scopeSpans": [{"scope": {"name": "tests"}, "spans": spans}],
            }
        ]
    }


def json_logs(
    resource: dict[str, Any], records: list[dict[str, Any]], scope: str = "tests"
) -> dict[str, Any]:
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [kv(k, v) for k, v in resource.items()]},
                "scopeLogs": [{"scope": {"name": scope}, "logRecords": records}],
            }
        ]
    }


def json_log(
    attributes: dict[str, Any],
    time_ns: int = NOW_NS,
    body: Any = None,
    event_name: str = "",
    observed_ns: int | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "timeUnixNano": str(time_ns),
        "observedTimeUnixNano": str(time_ns if observed_ns is None else observed_ns),
        "attributes": [kv(k, v) for k, v in attributes.items()],
    }
    if body is not None:
        record["body"] = {"stringValue": body}
    if event_name:
        record["eventName"] = event_name
    return record


def post(
    url: str,
    body: bytes | dict[str, Any],
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    gzip_body: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    all_headers = {"Content-Type": content_type, **(headers or {})}
    if gzip_body:
        data = gzip.compress(data)
        all_headers["Content-Encoding"] = "gzip"
    request = urllib.request.Request(url, data=data, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def chat_traces(
    n: int, trace_id: str, *, offset: int = 0, service: str = "t", pad: int = 0
) -> dict[str, Any]:
    """OTLP/JSON with `n` chat spans of one trace (span ids offset+1 .. offset+n, input tokens
    1 .. n); `pad` adds a display attribute of that many characters to each, to make it big."""
    return json_traces(
        {"service.name": service},
        [
            json_span(
                trace_id,
                f"{i + offset:016x}",
                "chat",
                {
                    "gen_ai.request.model": "gpt-5",
                    "gen_ai.usage.input_tokens": i,
                    "gen_ai.usage.output_tokens": 1,
                    **({"padding": "p" * pad} if pad else {}),
                },
            )
            for i in range(1, n + 1)
        ],
    )
