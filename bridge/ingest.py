"""The data path after decoding: map → price → write, and the answer to give the sender."""

from __future__ import annotations

import concurrent.futures
import contextvars
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import psycopg
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bridge import config
from bridge.errors import DatabaseUnavailable, Overloaded
from bridge.mapping import MappingResult, map_logs, map_traces
from bridge.metrics import Metrics
from bridge.model import Identity
from bridge.pricing.pricer import Pricer
from bridge.store.rows import context_row, to_row
from bridge.store.teams import TeamDirectory
from bridge.store.writer import BatchWriter

log = logging.getLogger(__name__)


# -- identity binding (issue 9 item 5) -------------------------------------------------------
class IdentityBinding(Protocol):
    """An authenticated identity (bridge.receive.auth.Principal) that overrides the payload's."""

    def apply(self, identity: Identity) -> None: ...

    @property
    def sender(self) -> str:
        """Whose trace context this export's spans are: contexts never cross senders."""
        ...


_BOUND: contextvars.ContextVar[IdentityBinding | None] = contextvars.ContextVar(
    "bound_identity", default=None
)


@contextmanager
def bind_identity(binding: IdentityBinding | None) -> Iterator[None]:
    """The receive layer wraps one authenticated export in this; its calls get `binding`'s identity."""
    reset = _BOUND.set(binding)
    try:
        yield
    finally:
        _BOUND.reset(reset)


# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class IngestOutcome:
    """What one export request produced: records seen, calls stored or deduplicated, rejections."""

    records: int
    calls: int
    written: int
    duplicates: int
    rejected: int
    message: str


class Ingestor:
    """The transport-independent data path: map an export to model calls, price them, write them."""

    def __init__(
        self,
        writer: BatchWriter,
        pricer: Pricer,
        metrics: Metrics,
        *,
        teams: TeamDirectory | None = None,
        write_timeout: float = config.WRITE_TIMEOUT_SECONDS,
    ):
        self.writer = writer
        self.pricer = pricer
        self.teams = teams
        self.metrics = metrics
        self.write_timeout = write_timeout

    def traces(self, request: ExportTraceServiceRequest) -> IngestOutcome:
        return self._ingest("trace", map_traces(request))

    def logs(self, request: ExportLogsServiceRequest) -> IngestOutcome:
        return self._ingest("log", map_logs(request))

    def _ingest(self, signal: str, mapped: MappingResult) -> IngestOutcome:
        self.metrics.records_received.labels(signal).inc(mapped.records)
        rows = []
        binding = _BOUND.get()
        sender = binding.sender if binding is not None else ""
        # Counted per request, not per call: a labelled counter's inc is a lock and, with
        # workers, a write to the shared metrics file.
        sources: Counter[str] = Counter()
        unpriced: Counter[str] = Counter()
        price = self.pricer.price
        for call in mapped.calls:
            if binding is not None:  # before pricing: team price rules depend on the team
                binding.apply(call.identity)
            if call.identity.team is None and self.teams is not None:
                call.identity.team = self.teams.team_of(call.identity.user_id)
            costs = price(call)
            if costs.source == "none" and costs.estimation != "subscription":
                unpriced[call.model] += 1
            rows.append(to_row(call, costs, sender))
            sources[call.source] += 1
        for source, count in sources.items():
            self.metrics.model_calls.labels(signal, source).inc(count)
        for model, count in unpriced.items():
            self.metrics.count_unpriced(model, count)
        rejections = [(r.reason, r.example) for r in mapped.rejections]
        contexts = [context_row(ctx, sender) for ctx in mapped.contexts]
        written = duplicates = 0
        if rows or contexts:
            future = self.writer.submit(signal, rows, rejections, contexts)
            try:
                result = future.result(timeout=self.write_timeout)
            except concurrent.futures.TimeoutError:
                raise Overloaded(f"rows not committed within {self.write_timeout:.0f}s; retry") from None
            except psycopg.Error as exc:  # a database error the writer did not classify: retryable
                raise DatabaseUnavailable(f"database error: {exc}".strip()) from None
            written, duplicates = result.written, result.duplicates
            # Rows the database refused (the writer isolated them): rejected like any other.
            rejections = [*rejections, *result.rejected]
        elif rejections:
            try:  # nothing to store: record the refusal if we can, but don't fail the request
                self.writer.submit(signal, [], rejections)
            except Overloaded:
                log.warning("could not record %d rejections", len(rejections))
        self.metrics.rejected.labels(signal).inc(len(rejections))
        message = ""
        if rejections:
            message = f"rejected {len(rejections)} of {mapped.records} records; first: {rejections[0][0]}"
        return IngestOutcome(
            records=mapped.records,
            calls=len(rows),
            written=written,
            duplicates=duplicates,
            rejected=len(rejections),
            message=message,
        )
