"""OTLP/HTTP receiver (protobuf and JSON) plus /healthz, /readyz and /metrics."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf.message import Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from bridge.errors import Overloaded
from bridge.ingest import Ingestor
from bridge.metrics import Metrics
from bridge.receive.auth import MISSING, IngestAuth
from bridge.receive.decode import DecodeError, decode_json, decode_protobuf, encode_json
from bridge.receive.http_body import BodyError, decompress, read_raw
from bridge.receive.responses import logs_response, traces_response

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
RETRY_AFTER_SECONDS = 5
MAX_CONCURRENT_EXPORTS = 32
SLOT_WAIT_SECONDS = 10


class OTLPHTTPServer(ThreadingHTTPServer):
    # Idle keep-alive connections must not hold up shutdown; in-flight exports are tracked
    # explicitly instead (see `wait_idle`), so their rows are committed before we exit.
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        ingestor: Ingestor,
        metrics: Metrics,
        readiness: Callable[[], tuple[bool, str]],
        max_body_bytes: int,
        auth: IngestAuth,
    ) -> None:
        self.auth = auth
        self.ingestor = ingestor
        self.metrics = metrics
        self.readiness = readiness
        self.max_body_bytes = max_body_bytes
        # Bounds memory: at most this many request bodies are read and decoded at once.
        self.slots = threading.BoundedSemaphore(MAX_CONCURRENT_EXPORTS)
        self.routes: dict[str, tuple[str, type[Message], Callable[[Message], Message]]] = {
            "/v1/traces": (
                "traces",
                trace_pb.ExportTraceServiceRequest,
                lambda req: traces_response(ingestor.traces(req)),
            ),  # type: ignore[arg-type]
            "/v1/logs": (
                "logs",
                logs_pb.ExportLogsServiceRequest,
                lambda req: logs_response(ingestor.logs(req)),
            ),  # type: ignore[arg-type]
            "/v1/metrics": (
                "metrics",
                metrics_pb.ExportMetricsServiceRequest,
                lambda req: metrics_pb.ExportMetricsServiceResponse(),
            ),
        }
        self._inflight = 0
        self._idle = threading.Condition()
        super().__init__(address, OTLPHandler)

    def begin(self) -> None:
        with self._idle:
            self._inflight += 1

    def end(self) -> None:
        with self._idle:
            self._inflight -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0, timeout)


class OTLPHandler(BaseHTTPRequestHandler):
    server: OTLPHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "agent-spend"
    timeout = 120  # seconds an idle keep-alive connection is kept

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_status(
        self, status: int, message: str, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        """Errors as a google.rpc.Status in the request's content type, as OTLP/HTTP specifies."""
        rpc_status = status_pb2.Status(code=_grpc_code(status), message=message)
        if content_type == PROTOBUF:
            self._send(status, rpc_status.SerializeToString(), PROTOBUF, headers)
        else:
            self._send(status, encode_json(rpc_status), JSON, headers)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(200, b"ok\n", "text/plain")
        elif path == "/readyz":
            ready, detail = self.server.readiness()
            self._send(200 if ready else 503, (detail + "\n").encode(), "text/plain")
        elif path == "/metrics":
            self._send(200, self.server.metrics.render(), "text/plain; version=0.0.4")
        else:
            self._send(404, b"not found\n", "text/plain")

    def do_POST(self) -> None:
        if not self.server.auth.allows(self.headers.get("Authorization")):
            self._drain()
            self.server.metrics.requests.labels("http", "any", "unauthenticated").inc()
            self._send_status(401, MISSING, JSON, {"WWW-Authenticate": "Bearer"})
            return
        if not self.server.slots.acquire(timeout=SLOT_WAIT_SECONDS):
            self._drain()
            self.server.metrics.requests.labels("http", "any", "busy").inc()
            self._send_status(
                503,
                "too many concurrent exports; retry later",
                JSON,
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            return
        self.server.begin()
        try:
            self._post()
        finally:
            self.server.end()
            self.server.slots.release()

    def _post(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        route = self.server.routes.get(path)
        raw_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        reply_type = PROTOBUF if raw_type == PROTOBUF else JSON
        if route is None:
            self._drain()
            self._send_status(
                404, f"no OTLP endpoint at {path}; use /v1/traces, /v1/logs or /v1/metrics", reply_type
            )
            return
        signal, message_type, handle = route
        metrics = self.server.metrics
        if raw_type not in (PROTOBUF, JSON):
            self._drain()
            metrics.requests.labels("http", signal, "unsupported_media_type").inc()
            self._send_status(
                415, f"Content-Type {raw_type or '(none)'!r} is not supported; use {PROTOBUF} or {JSON}", JSON
            )
            return
        limit = self.server.max_body_bytes
        try:
            raw = read_raw(
                self.rfile,
                self.headers.get("Content-Length"),
                "chunked" in (self.headers.get("Transfer-Encoding") or "").lower(),
                limit,
            )
            body = decompress(raw, self.headers.get("Content-Encoding"), limit)
            request = (decode_protobuf if raw_type == PROTOBUF else decode_json)(body, message_type)
        except BodyError as exc:
            if exc.status == 413:
                self.close_connection = True
            metrics.requests.labels("http", signal, f"error_{exc.status}").inc()
            self._send_status(exc.status, str(exc), reply_type)
            return
        except DecodeError as exc:
            metrics.requests.labels("http", signal, "error_400").inc()
            self._send_status(400, str(exc), reply_type)
            return
        try:
            response = handle(request)
        except Overloaded as exc:
            metrics.requests.labels("http", signal, "unavailable").inc()
            self._send_status(503, str(exc), reply_type, {"Retry-After": str(RETRY_AFTER_SECONDS)})
            return
        except Exception:
            log.exception("export failed")
            metrics.requests.labels("http", signal, "error_500").inc()
            self._send_status(500, "internal error while storing the export; see the bridge log", reply_type)
            return
        metrics.requests.labels("http", signal, "ok").inc()
        if reply_type == PROTOBUF:
            self._send(200, response.SerializeToString(), PROTOBUF)
        else:
            self._send(200, encode_json(response), JSON)

    def _drain(self) -> None:
        """Discard a small unread body so keep-alive connections stay in sync; close otherwise."""
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) <= 1024 * 1024:
            self.rfile.read(int(length))
        else:
            self.close_connection = True


def _grpc_code(http_status: int) -> int:
    return {
        400: 3,  # INVALID_ARGUMENT
        401: 16,  # UNAUTHENTICATED
        404: 12,  # UNIMPLEMENTED
        411: 3,
        413: 8,  # RESOURCE_EXHAUSTED
        415: 3,
        500: 13,  # INTERNAL
        503: 14,  # UNAVAILABLE
    }.get(http_status, 2)


def build_http_server(
    ingestor: Ingestor,
    metrics: Metrics,
    host: str,
    port: int,
    *,
    readiness: Callable[[], tuple[bool, str]],
    max_body_bytes: int,
    auth: IngestAuth | None = None,
) -> OTLPHTTPServer:
    return OTLPHTTPServer((host, port), ingestor, metrics, readiness, max_body_bytes, auth or IngestAuth(()))


__all__ = ["HTTPStatus", "OTLPHTTPServer", "build_http_server"]
