"""OTLP/HTTP receiver (protobuf and JSON) plus /healthz, /readyz and /metrics."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar

from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from bridge import config
from bridge.errors import (
    BadRequest,
    BridgeError,
    LengthRequired,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    Permanent,
    Retryable,
    Unauthenticated,
    UnsupportedMediaType,
)
from bridge.ingest import Ingestor
from bridge.metrics import Metrics
from bridge.receive.auth import MISSING, IngestAuth
from bridge.receive.decode import decode_json, decode_protobuf, encode_json
from bridge.receive.http_body import decompress, read_raw
from bridge.receive.responses import logs_response, traces_response

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Message)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

# How OTLP/HTTP answers each error: the HTTP status, and the google.rpc code of the Status body
# that OTLP/HTTP sends with it. The most specific class on an error's MRO wins; anything that
# is not a BridgeError is INTERNAL.
HTTP_ANSWERS: dict[type[BridgeError], tuple[HTTPStatus, int]] = {
    Retryable: (HTTPStatus.SERVICE_UNAVAILABLE, code_pb2.UNAVAILABLE),
    Overloaded: (HTTPStatus.SERVICE_UNAVAILABLE, code_pb2.UNAVAILABLE),
    Permanent: (HTTPStatus.BAD_REQUEST, code_pb2.INVALID_ARGUMENT),
    BadRequest: (HTTPStatus.BAD_REQUEST, code_pb2.INVALID_ARGUMENT),
    LengthRequired: (HTTPStatus.LENGTH_REQUIRED, code_pb2.INVALID_ARGUMENT),
    UnsupportedMediaType: (HTTPStatus.UNSUPPORTED_MEDIA_TYPE, code_pb2.INVALID_ARGUMENT),
    PayloadTooLarge: (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, code_pb2.RESOURCE_EXHAUSTED),
    Unauthenticated: (HTTPStatus.UNAUTHORIZED, code_pb2.UNAUTHENTICATED),
    NotFound: (HTTPStatus.NOT_FOUND, code_pb2.UNIMPLEMENTED),
}
INTERNAL_ANSWER = (HTTPStatus.INTERNAL_SERVER_ERROR, code_pb2.INTERNAL)


def http_answer(error: BaseException) -> tuple[HTTPStatus, int]:
    """The (HTTP status, google.rpc code) pair for an error, by the table above."""
    for cls in type(error).__mro__:
        if cls in HTTP_ANSWERS:
            return HTTP_ANSWERS[cls]
    return INTERNAL_ANSWER


class Decoder(Protocol):
    """decode_protobuf or decode_json: bytes → the requested OTLP message, or BadRequest."""

    def __call__(self, body: bytes, message_type: type[M], /) -> M: ...


@dataclass(frozen=True, slots=True)
class Route:
    """One OTLP/HTTP endpoint: its signal name, and decode-then-ingest for a body."""

    signal: str
    handle: Callable[[bytes, Decoder], Message]


def _ignore_metrics(body: bytes, decode: Decoder) -> Message:
    decode(body, metrics_pb.ExportMetricsServiceRequest)  # still refuse a malformed body
    return metrics_pb.ExportMetricsServiceResponse()


class OTLPHTTPServer(ThreadingHTTPServer):
    """The threading HTTP server of the OTLP/HTTP endpoints, tracking in-flight exports for shutdown."""

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
        self.slots = threading.BoundedSemaphore(config.HTTP_MAX_CONCURRENT_EXPORTS)
        self.routes: dict[str, Route] = {
            "/v1/traces": Route(
                "traces",
                lambda body, decode: traces_response(
                    ingestor.traces(decode(body, trace_pb.ExportTraceServiceRequest))
                ),
            ),
            "/v1/logs": Route(
                "logs",
                lambda body, decode: logs_response(
                    ingestor.logs(decode(body, logs_pb.ExportLogsServiceRequest))
                ),
            ),
            "/v1/metrics": Route("metrics", _ignore_metrics),
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
    """Handles one connection: routes OTLP exports, probes and /metrics; errors as google.rpc.Status."""

    server: OTLPHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "agent-spend"
    timeout = config.HTTP_KEEPALIVE_SECONDS  # an idle keep-alive connection is kept this long

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(
        self, status: HTTPStatus, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _refuse(
        self,
        error: BaseException,
        message: str,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> HTTPStatus:
        """Answer an error as a google.rpc.Status in the request's content type, as OTLP/HTTP specifies.

        The status comes from HTTP_ANSWERS; retryable errors carry Retry-After.
        """
        status, code = http_answer(error)
        headers = dict(headers or {})
        if isinstance(error, Retryable):
            headers["Retry-After"] = str(config.RETRY_AFTER_SECONDS)
        rpc_status = status_pb2.Status(code=code, message=message)
        if content_type == PROTOBUF:
            self._send(status, rpc_status.SerializeToString(), PROTOBUF, headers)
        else:
            self._send(status, encode_json(rpc_status), JSON, headers)
        return status

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(HTTPStatus.OK, b"ok\n", "text/plain")
        elif path == "/readyz":
            ready, detail = self.server.readiness()
            status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
            self._send(status, (detail + "\n").encode(), "text/plain")
        elif path == "/metrics" and not self.server.auth.metrics_allows(self.headers.get("Authorization")):
            self._send(
                HTTPStatus.UNAUTHORIZED,
                b"metrics token required\n",
                "text/plain",
                {"WWW-Authenticate": "Bearer"},
            )
        elif path == "/metrics":
            self._send(HTTPStatus.OK, self.server.metrics.render(), "text/plain; version=0.0.4")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    def do_POST(self) -> None:
        # Bound tokens' identity applies to this export (bridge/receive/auth.py, bridge/ingest.py).
        with self.server.auth.bound(self.headers.get("Authorization")) as principal:
            if principal is None:
                self._drain()
                self.server.metrics.requests.labels("http", "any", "unauthenticated").inc()
                self._refuse(Unauthenticated(MISSING), MISSING, JSON, {"WWW-Authenticate": "Bearer"})
                return
            self._authenticated_post()

    def _authenticated_post(self) -> None:
        if not self.server.slots.acquire(timeout=config.HTTP_SLOT_WAIT_SECONDS):
            self._drain()
            self.server.metrics.requests.labels("http", "any", "busy").inc()
            busy = Overloaded("too many concurrent exports; retry later")
            self._refuse(busy, str(busy), JSON)
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
            missing = NotFound(f"no OTLP endpoint at {path}; use /v1/traces, /v1/logs or /v1/metrics")
            self._refuse(missing, str(missing), reply_type)
            return
        metrics = self.server.metrics
        if raw_type not in (PROTOBUF, JSON):
            self._drain()
            metrics.requests.labels("http", route.signal, "unsupported_media_type").inc()
            unsupported = UnsupportedMediaType(
                f"Content-Type {raw_type or '(none)'!r} is not supported; use {PROTOBUF} or {JSON}"
            )
            self._refuse(unsupported, str(unsupported), JSON)
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
            response = route.handle(body, decode_protobuf if raw_type == PROTOBUF else decode_json)
        except Retryable as exc:
            metrics.requests.labels("http", route.signal, "unavailable").inc()
            self._refuse(exc, str(exc), reply_type)
            return
        except BridgeError as exc:
            if isinstance(exc, PayloadTooLarge):
                self.close_connection = True
            status, _ = http_answer(exc)
            metrics.requests.labels("http", route.signal, f"error_{status.value}").inc()
            self._refuse(exc, str(exc), reply_type)
            return
        except Exception as exc:
            log.exception("export failed")
            status, _ = http_answer(exc)
            metrics.requests.labels("http", route.signal, f"error_{status.value}").inc()
            self._refuse(exc, "internal error while storing the export; see the bridge log", reply_type)
            return
        metrics.requests.labels("http", route.signal, "ok").inc()
        if reply_type == PROTOBUF:
            self._send(HTTPStatus.OK, response.SerializeToString(), PROTOBUF)
        else:
            self._send(HTTPStatus.OK, encode_json(response), JSON)

    def _drain(self) -> None:
        """Discard a small unread body so keep-alive connections stay in sync; close otherwise."""
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) <= config.HTTP_DRAIN_MAX_BYTES:
            self.rfile.read(int(length))
        else:
            self.close_connection = True


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
