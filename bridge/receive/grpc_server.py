"""OTLP/gRPC receiver: TraceService, LogsService and (accepted, ignored) MetricsService.

The handlers take the raw request bytes and decode them here (not in grpc's deserializer), so a
body that is not a valid message is INVALID_ARGUMENT like any other bad request, and its size
is reserved in the in-flight memory budget shared with OTLP/HTTP before it is decoded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from google.protobuf.message import Message

from bridge import config
from bridge.errors import (
    BridgeError,
    NotFound,
    PayloadTooLarge,
    Permanent,
    Retryable,
    Unauthenticated,
)
from bridge.ingest import Ingestor
from bridge.metrics import Metrics
from bridge.receive.auth import GrpcAuthInterceptor, IngestAuth
from bridge.receive.decode import decode_protobuf
from bridge.receive.export import InflightBudget, otlp_signals

log = logging.getLogger(__name__)

# How OTLP/gRPC answers each error; the most specific class on an error's MRO wins.
# UNAVAILABLE is retried by every OTLP exporter (RESOURCE_EXHAUSTED only with RetryInfo, which
# we never send: a too-large export is not worth resending). Undecodable bodies are
# BadRequest (Permanent) → INVALID_ARGUMENT; database trouble is DatabaseUnavailable
# (Retryable) → UNAVAILABLE; a busy bridge (queue or memory budget) is Overloaded → UNAVAILABLE.
GRPC_STATUS: dict[type[BridgeError], grpc.StatusCode] = {
    BridgeError: grpc.StatusCode.INTERNAL,
    Retryable: grpc.StatusCode.UNAVAILABLE,
    Permanent: grpc.StatusCode.INVALID_ARGUMENT,
    PayloadTooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    NotFound: grpc.StatusCode.UNIMPLEMENTED,
}

TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
LOGS_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
METRICS_SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"
SERVICES = {"traces": TRACE_SERVICE, "logs": LOGS_SERVICE, "metrics": METRICS_SERVICE}


def grpc_status(error: BridgeError) -> grpc.StatusCode:
    """The gRPC status code for an error, by the table above."""
    return next(GRPC_STATUS[cls] for cls in type(error).__mro__ if cls in GRPC_STATUS)


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _export_handler(
    metrics: Metrics,
    budget: InflightBudget,
    signal: str,
    message_type: type[Message],
    handle: Callable[[Message], Message],
) -> grpc.RpcMethodHandler[bytes, Message]:
    """A unary handler over raw bytes: reserve, decode, ingest; errors mapped through GRPC_STATUS."""

    def export(raw: bytes, context: grpc.ServicerContext) -> Message:
        try:
            with budget.reserve(len(raw)):
                request = decode_protobuf(raw, message_type)
                del raw
                response = handle(request)  # database trouble arrives as DatabaseUnavailable
        except BridgeError as exc:
            code = grpc_status(exc)
            metrics.requests.labels("grpc", signal, code.name.lower()).inc()
            # On UNAVAILABLE the exporter backs off and resends.
            context.abort(code, str(exc))
            raise  # unreachable: abort raises
        except Exception:
            log.exception("export failed")
            metrics.requests.labels("grpc", signal, "internal").inc()
            context.abort(
                grpc.StatusCode.INTERNAL, "internal error while storing the export; see the bridge log"
            )
            raise
        metrics.requests.labels("grpc", signal, "ignored" if signal == "metrics" else "ok").inc()
        return response

    return grpc.unary_unary_rpc_method_handler(
        export, request_deserializer=None, response_serializer=_serialize
    )


def otlp_handlers(
    ingestor: Ingestor, metrics: Metrics, budget: InflightBudget, chunk_records: int
) -> tuple[grpc.GenericRpcHandler[Any, Any], ...]:
    """The three OTLP services as generic handlers over raw request bytes."""
    return tuple(
        grpc.method_handlers_generic_handler(
            SERVICES[signal.name],
            {"Export": _export_handler(metrics, budget, signal.name, signal.request_type, signal.handle)},
        )
        for signal in otlp_signals(ingestor, chunk_records)
    )


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
    budget: InflightBudget | None = None,
    chunk_records: int = config.INGEST_CHUNK_RECORDS,
    reuse_port: bool = False,
) -> tuple[grpc.Server, int]:
    budget = budget or InflightBudget(config.MAX_INFLIGHT_MIB * config.MIB, metrics.inflight_bytes)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otlp-grpc"),
        interceptors=[GrpcAuthInterceptor(auth)] if auth is not None and auth.enabled else None,
        # Beyond this many queued + running exports gRPC itself answers RESOURCE_EXHAUSTED (no
        # RetryInfo: the SDK exporters retry it, the spec does not promise it; docs/operations.md).
        maximum_concurrent_rpcs=4 * workers,
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", config.GRPC_MAX_SEND_BYTES),
            # Without this a second bridge on the same port would silently share it. The
            # workers of one bridge (`serve --workers N`) share it on purpose, after the
            # supervisor claimed the port (bridge/receive/listen.py).
            ("grpc.so_reuseport", 1 if reuse_port else 0),
        ],
    )
    server.add_generic_rpc_handlers(otlp_handlers(ingestor, metrics, budget, chunk_records))
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
