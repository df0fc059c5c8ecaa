"""OTLP/gRPC receiver: TraceService, LogsService and (accepted, ignored) MetricsService."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc as logs_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as metrics_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as trace_grpc

from bridge import config
from bridge.errors import (
    BridgeError,
    NotFound,
    PayloadTooLarge,
    Permanent,
    Retryable,
    Unauthenticated,
)
from bridge.ingest import Ingestor, IngestOutcome
from bridge.metrics import Metrics
from bridge.receive.auth import GrpcAuthInterceptor, IngestAuth
from bridge.receive.responses import logs_response, traces_response

log = logging.getLogger(__name__)

# How OTLP/gRPC answers each error; the most specific class on an error's MRO wins.
# UNAVAILABLE and RESOURCE_EXHAUSTED are retryable for every OTLP exporter.
GRPC_STATUS: dict[type[BridgeError], grpc.StatusCode] = {
    BridgeError: grpc.StatusCode.INTERNAL,
    Retryable: grpc.StatusCode.UNAVAILABLE,
    Permanent: grpc.StatusCode.INVALID_ARGUMENT,
    PayloadTooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    NotFound: grpc.StatusCode.UNIMPLEMENTED,
}


def grpc_status(error: BridgeError) -> grpc.StatusCode:
    """The gRPC status code for an error, by the table above."""
    return next(GRPC_STATUS[cls] for cls in type(error).__mro__ if cls in GRPC_STATUS)


def _export(
    metrics: Metrics,
    signal: str,
    handle: Callable[[], IngestOutcome],
    respond: Callable[[IngestOutcome], Message],
    context: grpc.ServicerContext,
) -> Message:
    try:
        outcome = handle()
    except BridgeError as exc:
        code = grpc_status(exc)
        metrics.requests.labels("grpc", signal, code.name.lower()).inc()
        # On UNAVAILABLE the exporter backs off and resends.
        context.abort(code, str(exc))
        raise  # unreachable: abort raises
    metrics.requests.labels("grpc", signal, "ok").inc()
    return respond(outcome)


class TraceService(trace_grpc.TraceServiceServicer):
    """OTLP/gRPC TraceService: ingests exported spans."""

    def __init__(self, ingestor: Ingestor, metrics: Metrics) -> None:
        self.ingestor, self.metrics = ingestor, metrics

    def Export(self, request: trace_pb.ExportTraceServiceRequest, context: grpc.ServicerContext) -> Any:
        return _export(
            self.metrics, "traces", lambda: self.ingestor.traces(request), traces_response, context
        )


class LogsService(logs_grpc.LogsServiceServicer):
    """OTLP/gRPC LogsService: ingests exported log records."""

    def __init__(self, ingestor: Ingestor, metrics: Metrics) -> None:
        self.ingestor, self.metrics = ingestor, metrics

    def Export(self, request: logs_pb.ExportLogsServiceRequest, context: grpc.ServicerContext) -> Any:
        return _export(self.metrics, "logs", lambda: self.ingestor.logs(request), logs_response, context)


class MetricsService(metrics_grpc.MetricsServiceServicer):
    """Accepts metrics so exporters configured for all signals don't log errors; stores nothing."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def Export(self, request: metrics_pb.ExportMetricsServiceRequest, context: grpc.ServicerContext) -> Any:
        self.metrics.requests.labels("grpc", "metrics", "ignored").inc()
        return metrics_pb.ExportMetricsServiceResponse()


def build_grpc_server(
    ingestor: Ingestor,
    metrics: Metrics,
    host: str,
    port: int,
    *,
    max_message_bytes: int,
    auth: IngestAuth | None = None,
    workers: int = config.GRPC_WORKERS,
    credentials: grpc.ServerCredentials | None = None,
) -> tuple[grpc.Server, int]:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otlp-grpc"),
        interceptors=[GrpcAuthInterceptor(auth)] if auth is not None and auth.enabled else None,
        # Beyond this many queued + running exports gRPC answers RESOURCE_EXHAUSTED (retryable).
        maximum_concurrent_rpcs=4 * workers,
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", config.GRPC_MAX_SEND_BYTES),
            # Without this a second bridge on the same port would silently share it.
            ("grpc.so_reuseport", 0),
        ],
    )
    trace_grpc.add_TraceServiceServicer_to_server(TraceService(ingestor, metrics), server)
    logs_grpc.add_LogsServiceServicer_to_server(LogsService(ingestor, metrics), server)
    metrics_grpc.add_MetricsServiceServicer_to_server(MetricsService(metrics), server)
    try:
        address = f"{host}:{port}"
        # TLS (bridge/receive/tls.py grpc_server_credentials) when configured.
        bound = (
            server.add_secure_port(address, credentials)
            if credentials is not None
            else server.add_insecure_port(address)
        )
    except RuntimeError as exc:  # grpc reports bind failures as RuntimeError
        raise OSError(str(exc)) from None
    if bound == 0:
        raise OSError(f"cannot bind gRPC on {host}:{port}")
    return server, bound
