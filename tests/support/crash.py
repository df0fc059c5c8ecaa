"""Spans sent through the real SDK exporters in acknowledged batches, for the crash tests.

Each batch is exported with `exporter.export(batch)`; SUCCESS means the bridge answered after
committing, so every span of an acknowledged batch must be stored exactly once, whatever
crashes afterwards (tests/test_crash_recovery.py, tests/test_lab_durability.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.support.otlp import NOW_NS


def make_spans(count: int, service: str = "crash-test") -> list[ReadableSpan]:
    """`count` finished model-call spans (distinct span ids), in memory."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("agent-spend-crash")
    for i in range(count):
        attributes = {
            "gen_ai.request.model": "gpt-5",
            "gen_ai.usage.input_tokens": i + 1,
            "gen_ai.usage.output_tokens": 1,
        }
        span = tracer.start_span("chat", kind=SpanKind.CLIENT, attributes=attributes, start_time=NOW_NS + i)
        span.end(end_time=NOW_NS + i + 1_000_000)
    provider.shutdown()
    return list(memory.get_finished_spans())


def dedup_key(span: ReadableSpan) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"span:{context.trace_id:032x}:{context.span_id:016x}"


def grpc_exporter(target: str, timeout: float) -> Any:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"http://{target}", insecure=True, timeout=timeout)


def http_exporter(target: str, timeout: float) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"http://{target}/v1/traces", timeout=timeout)


@dataclass
class Ledger:
    """Which spans the bridge acknowledged, and how many exports failed (to be resent)."""

    acknowledged: set[str] = field(default_factory=set)
    failures: int = 0

    def export(self, exporter: Any, batch: Sequence[ReadableSpan]) -> bool:
        if exporter.export(batch) == SpanExportResult.SUCCESS:
            self.acknowledged.update(dedup_key(s) for s in batch)
            return True
        self.failures += 1
        return False
