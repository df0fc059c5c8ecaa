"""What both transports do with a complete body: reserve memory, decode, ingest in chunks.

`InflightBudget` bounds the decoded bytes of all requests in flight (HTTP and gRPC share one);
a request over it waits briefly, then gets a retryable refusal, and one that could never fit
is refused for good. `ingest_traces` / `ingest_logs` split an export with more records than
the writer's queue may take into chunks, commit them one after the other and answer once
(a retry after a failed chunk is harmless: committed rows are deduplicated).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb
from prometheus_client import Gauge

from bridge import config
from bridge.errors import Overloaded, PayloadTooLarge
from bridge.ingest import Ingestor, IngestOutcome
from bridge.receive.responses import logs_response, traces_response

M = TypeVar("M", bound=Message)


class InflightBudget:
    """A byte budget shared by every request being decoded or ingested; exported as a gauge."""

    def __init__(
        self, limit_bytes: int, gauge: Gauge | None = None, wait: float = config.INFLIGHT_WAIT_SECONDS
    ):
        self.limit = limit_bytes
        self.wait = wait
        self.used = 0
        self._gauge = gauge
        self._cond = threading.Condition()

    def _set(self, used: int) -> None:
        self.used = used
        if self._gauge is not None:
            self._gauge.set(used)

    def fits(self, size: int) -> None:
        """PayloadTooLarge (not retryable) for a request that could never fit the budget."""
        if size > self.limit:
            raise PayloadTooLarge(
                f"request of {size // config.MIB} MiB decoded exceeds the in-flight memory budget of "
                f"{self.limit // config.MIB} MiB (--max-inflight-mib); send smaller exports"
            )

    def _acquire(self, size: int, wait: float) -> None:
        self.fits(size)
        deadline = time.monotonic() + wait
        with self._cond:
            while self.used + size > self.limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Overloaded(
                        f"bridge is busy: {self.used // config.MIB} MiB of "
                        f"{self.limit // config.MIB} MiB in-flight budget in use; retry later"
                    )
                self._cond.wait(remaining)
            self._set(self.used + size)

    def _release(self, size: int) -> None:
        with self._cond:
            self._set(self.used - size)
            self._cond.notify_all()

    def reserve(self, size: int, wait: float | None = None) -> Reservation:
        """Reserve `size` bytes, waiting up to `wait` s; Overloaded (retryable) or PayloadTooLarge."""
        self._acquire(size, self.wait if wait is None else wait)
        return Reservation(self, size)


class Reservation:
    """Bytes held in an InflightBudget by one request; resize as the real size becomes known."""

    def __init__(self, budget: InflightBudget, size: int) -> None:
        self.budget = budget
        self.size = size

    def resize(self, size: int) -> None:
        self.budget.fits(size)  # the whole request, not only its growth
        if size > self.size:
            self.budget._acquire(size - self.size, self.budget.wait)
        elif size < self.size:
            self.budget._release(self.size - size)
        self.size = size

    def release(self) -> None:
        if self.size:
            self.budget._release(self.size)
            self.size = 0

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def split_traces(
    request: trace_pb.ExportTraceServiceRequest, max_records: int
) -> Iterator[trace_pb.ExportTraceServiceRequest]:
    """The request itself when it is small enough, else requests of at most `max_records` spans."""
    total = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if total <= max_records:
        yield request
        return
    part = trace_pb.ExportTraceServiceRequest()
    count = 0
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            start = 0
            while start < len(ss.spans):
                take = min(max_records - count, len(ss.spans) - start)
                out_rs = part.resource_spans.add(resource=rs.resource, schema_url=rs.schema_url)
                out_ss = out_rs.scope_spans.add(scope=ss.scope, schema_url=ss.schema_url)
                out_ss.spans.extend(ss.spans[start : start + take])
                start += take
                count += take
                if count >= max_records:
                    yield part
                    part, count = trace_pb.ExportTraceServiceRequest(), 0
    if count:
        yield part


def split_logs(
    request: logs_pb.ExportLogsServiceRequest, max_records: int
) -> Iterator[logs_pb.ExportLogsServiceRequest]:
    """The request itself when it is small enough, else requests of at most `max_records` records."""
    total = sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    if total <= max_records:
        yield request
        return
    part = logs_pb.ExportLogsServiceRequest()
    count = 0
    for rl in request.resource_logs:
        for sl in rl.scope_logs:
            start = 0
            while start < len(sl.log_records):
                take = min(max_records - count, len(sl.log_records) - start)
                out_rl = part.resource_logs.add(resource=rl.resource, schema_url=rl.schema_url)
                out_sl = out_rl.scope_logs.add(scope=sl.scope, schema_url=sl.schema_url)
                out_sl.log_records.extend(sl.log_records[start : start + take])
                start += take
                count += take
                if count >= max_records:
                    yield part
                    part, count = logs_pb.ExportLogsServiceRequest(), 0
    if count:
        yield part


def _combine(outcomes: list[IngestOutcome]) -> IngestOutcome:
    if len(outcomes) == 1:
        return outcomes[0]
    records = sum(o.records for o in outcomes)
    rejected = sum(o.rejected for o in outcomes)
    first = next((o.message for o in outcomes if o.message), "")
    message = ""
    if rejected:
        reason = first.split("; first: ", 1)[1] if "; first: " in first else first
        message = f"rejected {rejected} of {records} records; first: {reason}"
    return IngestOutcome(
        records=records,
        calls=sum(o.calls for o in outcomes),
        written=sum(o.written for o in outcomes),
        duplicates=sum(o.duplicates for o in outcomes),
        rejected=rejected,
        message=message,
    )


def _ingest_parts(parts: Iterator[M], ingest: Callable[[M], IngestOutcome]) -> IngestOutcome:
    return _combine([ingest(part) for part in parts])


def ingest_traces(
    ingestor: Ingestor, request: trace_pb.ExportTraceServiceRequest, chunk_records: int
) -> IngestOutcome:
    """Ingest an export, chunk by chunk when it holds more than `chunk_records` spans."""
    return _ingest_parts(split_traces(request, chunk_records), ingestor.traces)


def ingest_logs(
    ingestor: Ingestor, request: logs_pb.ExportLogsServiceRequest, chunk_records: int
) -> IngestOutcome:
    """Ingest an export, chunk by chunk when it holds more than `chunk_records` log records."""
    return _ingest_parts(split_logs(request, chunk_records), ingestor.logs)


@dataclass(frozen=True, slots=True)
class Signal:
    """One OTLP signal as both transports serve it: its name, request type and answer."""

    name: str  # "traces", "logs", "metrics": the HTTP path /v1/<name> and the metrics label
    request_type: type[Message]
    handle: Callable[[Message], Message]


def otlp_signals(ingestor: Ingestor, chunk_records: int) -> tuple[Signal, ...]:
    """The three OTLP signals, decoded request -> response; metrics are accepted and ignored."""

    def traces(request: Message) -> Message:
        assert isinstance(request, trace_pb.ExportTraceServiceRequest)
        return traces_response(ingest_traces(ingestor, request, chunk_records))

    def logs(request: Message) -> Message:
        assert isinstance(request, logs_pb.ExportLogsServiceRequest)
        return logs_response(ingest_logs(ingestor, request, chunk_records))

    return (
        Signal("traces", trace_pb.ExportTraceServiceRequest, traces),
        Signal("logs", logs_pb.ExportLogsServiceRequest, logs),
        Signal(
            "metrics",
            metrics_pb.ExportMetricsServiceRequest,
            lambda _: metrics_pb.ExportMetricsServiceResponse(),
        ),
    )
