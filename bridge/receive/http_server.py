"""OTLP/HTTP receiver (protobuf and JSON) plus /healthz, /readyz and /metrics, served by cheroot.

cheroot (CherryPy's HTTP server) gives the listener what a production receiver needs and the
stdlib server lacks: a fixed pool of handler threads, a selector that parks idle keep-alive
connections without a thread, a listen backlog, socket timeouts, TCP_NODELAY and TLS. The
application below stays synchronous: an export is answered only after its rows are committed.

Per request: authenticate (401 without reading more than a small body), route, check the
content type, then read the body against a deadline (a stalled body is dropped; it never holds
memory budget), reserve its decoded size in the shared in-flight budget, inflate, decode,
ingest chunk by chunk, answer, release.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2

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
from bridge.receive.export import InflightBudget, Signal, otlp_signals
from bridge.receive.http_body import (
    BodyTimeout,
    Deadline,
    decompress,
    discard,
    parse_content_length,
    read_chunked,
    read_known_length,
)

log = logging.getLogger(__name__)

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
    BodyTimeout: (HTTPStatus.REQUEST_TIMEOUT, code_pb2.DEADLINE_EXCEEDED),
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


@dataclass(frozen=True)
class HTTPLimits:
    """The listener's bounds; defaults in bridge.config (see docs/operations.md)."""

    max_body_bytes: int = config.MAX_BODY_BYTES
    threads: int = config.HTTP_THREADS
    max_connections: int = config.HTTP_MAX_CONNECTIONS
    backlog: int = config.HTTP_LISTEN_BACKLOG
    idle_seconds: int = config.HTTP_IDLE_SECONDS
    body_timeout: float = config.HTTP_BODY_TIMEOUT_SECONDS
    chunk_records: int = config.INGEST_CHUNK_RECORDS


@dataclass
class Reply:
    """One HTTP answer: status, body, content type, extra headers, and whether to close after it."""

    status: HTTPStatus
    body: bytes
    content_type: str
    headers: dict[str, str]
    close: bool = False


def _refusal(
    error: BaseException, message: str, content_type: str, headers: dict[str, str] | None = None
) -> Reply:
    """An error as a google.rpc.Status in the request's content type, as OTLP/HTTP specifies.

    The status comes from HTTP_ANSWERS; retryable errors carry Retry-After.
    """
    status, code = http_answer(error)
    headers = dict(headers or {})
    if isinstance(error, Retryable):
        headers["Retry-After"] = str(config.RETRY_AFTER_SECONDS)
    rpc_status = status_pb2.Status(code=code, message=message)
    if content_type == PROTOBUF:
        return Reply(status, rpc_status.SerializeToString(), PROTOBUF, headers)
    return Reply(status, encode_json(rpc_status), JSON, headers)


class _Gateway(wsgi.Gateway_10):
    """cheroot's WSGI 1.0 gateway, also handing the app the request (for its socket and framing)."""

    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        env: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        env["bridge.request"] = self.req
        return env


class _TLSAdapter(BuiltinSSLAdapter):
    """cheroot's TLS adapter with our SSLContext, and a bounded handshake (it runs on the accept loop)."""

    def wrap(self, sock: socket.socket) -> Any:
        sock.settimeout(config.HTTP_TLS_HANDSHAKE_SECONDS)
        return super().wrap(sock)  # type: ignore[no-untyped-call]


Handler = Callable[[Message], Message]


class OTLPHTTPServer:
    """The OTLP/HTTP listener: a cheroot WSGI server, tracking in-flight exports for shutdown."""

    def __init__(
        self,
        address: tuple[str, int],
        ingestor: Ingestor,
        metrics: Metrics,
        readiness: Callable[[], tuple[bool, str]],
        limits: HTTPLimits,
        auth: IngestAuth,
        budget: InflightBudget,
        ssl_context: ssl.SSLContext | None = None,
        tls_files: tuple[str, str] | None = None,
        reuse_port: bool = False,
    ) -> None:
        self.auth = auth
        self.ingestor = ingestor
        self.metrics = metrics
        self.readiness = readiness
        self.limits = limits
        self.budget = budget
        self.routes: dict[str, Signal] = {
            f"/v1/{signal.name}": signal for signal in otlp_signals(ingestor, limits.chunk_records)
        }
        self._inflight = 0
        self._idle = threading.Condition()
        server = wsgi.Server(
            address,
            self.app,
            numthreads=limits.threads,
            max=limits.threads,
            request_queue_size=limits.backlog,
            timeout=limits.idle_seconds,
            shutdown_timeout=int(config.WRITE_TIMEOUT_SECONDS),
            accepted_queue_size=limits.backlog,
            accepted_queue_timeout=limits.idle_seconds,
        )
        server.server_name = "agent-spend"
        server.keep_alive_conn_limit = limits.max_connections
        server.max_request_header_size = 64 * 1024
        server.nodelay = True
        server.gateway = _Gateway
        # The workers of one bridge share the port (the supervisor claimed it first).
        server.reuse_port = reuse_port
        if ssl_context is not None:
            if tls_files is None:
                raise ValueError("TLS needs the certificate and key files")
            adapter = _TLSAdapter(*tls_files)
            adapter.context = ssl_context
            server.ssl_adapter = adapter
        self.server = server
        server.prepare()  # binds now: a port in use is an OSError at startup
        self._serving = threading.Event()
        self._stopper: threading.Thread | None = None

    @property
    def server_address(self) -> tuple[str, int]:
        host, port = self.server.bind_addr[:2]
        return str(host), int(port)

    def serve_forever(self) -> None:
        self._serving.set()
        self.server.serve()

    def shutdown(self) -> None:
        """Stop accepting and close idle connections (in the background); running handlers finish."""
        self._stopper = threading.Thread(target=self.server.stop, name="otlp-http-stop", daemon=True)
        self._stopper.start()

    def server_close(self) -> None:
        """Wait for cheroot's stop (its worker threads joined, at most WRITE_TIMEOUT_SECONDS)."""
        if self._stopper is not None:
            self._stopper.join(config.WRITE_TIMEOUT_SECONDS + 5)

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

    # -- the WSGI application ----------------------------------------------------------------
    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if method == "POST":
            self.begin()
            try:
                reply = self._post(environ, path)
            finally:
                self.end()
        elif method in ("GET", "HEAD"):
            reply = self._get(environ, path)
        else:
            reply = Reply(
                HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed\n", "text/plain", {"Allow": "GET, POST"}
            )
        if reply.close:
            environ["bridge.request"].close_connection = True
        headers = [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body)))]
        headers += list(reply.headers.items())
        start_response(f"{reply.status.value} {reply.status.phrase}", headers)
        return [reply.body]

    def _get(self, environ: dict[str, Any], path: str) -> Reply:
        if path == "/healthz":
            return Reply(HTTPStatus.OK, b"ok\n", "text/plain", {})
        if path == "/readyz":
            ready, detail = self.readiness()
            status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
            return Reply(status, (detail + "\n").encode(), "text/plain", {})
        if path == "/metrics":
            if not self.auth.metrics_allows(environ.get("HTTP_AUTHORIZATION")):
                return Reply(
                    HTTPStatus.UNAUTHORIZED,
                    b"metrics token required\n",
                    "text/plain",
                    {"WWW-Authenticate": "Bearer"},
                )
            return Reply(HTTPStatus.OK, self.metrics.render(), "text/plain; version=0.0.4", {})
        return Reply(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", {})

    def _drained(self, environ: dict[str, Any], reply: Reply) -> Reply:
        """Before a refusal: drop a small unread body so the connection stays in sync; else close."""
        req = environ["bridge.request"]
        if req.chunked_read:
            reply.close = True
            return reply
        try:
            length = parse_content_length(environ.get("CONTENT_LENGTH") or "0")
        except BridgeError:
            reply.close = True
            return reply
        if length > config.HTTP_DRAIN_MAX_BYTES:
            reply.close = True
            return reply
        deadline = Deadline(_socket(req), self.limits.body_timeout, self.limits.idle_seconds)
        try:
            if not discard(environ["wsgi.input"], length, deadline):
                reply.close = True
        finally:
            deadline.restore()
        return reply

    def _post(self, environ: dict[str, Any], raw_path: str) -> Reply:
        path = raw_path.rstrip("/")
        route = self.routes.get(path)
        raw_type = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        reply_type = PROTOBUF if raw_type == PROTOBUF else JSON
        metrics = self.metrics
        authorization = environ.get("HTTP_AUTHORIZATION")
        with self.auth.bound(authorization) as principal:
            if principal is None:
                metrics.requests.labels("http", "any", "unauthenticated").inc()
                refused = _refusal(Unauthenticated(MISSING), MISSING, JSON, {"WWW-Authenticate": "Bearer"})
                return self._drained(environ, refused)
            if route is None:
                missing = NotFound(f"no OTLP endpoint at {path}; use /v1/traces, /v1/logs or /v1/metrics")
                return self._drained(environ, _refusal(missing, str(missing), reply_type))
            signal, message_type, handle = route.name, route.request_type, route.handle
            if raw_type not in (PROTOBUF, JSON):
                metrics.requests.labels("http", signal, "unsupported_media_type").inc()
                unsupported = UnsupportedMediaType(
                    f"Content-Type {raw_type or '(none)'!r} is not supported; use {PROTOBUF} or {JSON}"
                )
                return self._drained(environ, _refusal(unsupported, str(unsupported), JSON))
            try:
                response = self._export(environ, message_type, raw_type, handle)
            except BridgeError as exc:
                status, _ = http_answer(exc)
                outcome = "unavailable" if isinstance(exc, Retryable) else f"error_{status.value}"
                metrics.requests.labels("http", signal, outcome).inc()
                reply = _refusal(exc, str(exc), reply_type)
                # A body not read to its end leaves the connection out of step: close it.
                reply.close = isinstance(exc, (PayloadTooLarge, BodyTimeout)) or not environ.get(
                    "bridge.body_read"
                )
                return reply
            except Exception as exc:
                log.exception("export failed")
                status, _ = http_answer(exc)
                metrics.requests.labels("http", signal, f"error_{status.value}").inc()
                return _refusal(
                    exc, "internal error while storing the export; see the bridge log", reply_type
                )
        metrics.requests.labels("http", signal, "ok").inc()
        if reply_type == PROTOBUF:
            return Reply(HTTPStatus.OK, response.SerializeToString(), PROTOBUF, {})
        return Reply(HTTPStatus.OK, encode_json(response), JSON, {})

    def _read_body(self, environ: dict[str, Any]) -> bytearray:
        """The raw body, complete, within the body deadline and the size limit."""
        req = environ["bridge.request"]
        limit = self.limits.max_body_bytes
        deadline = Deadline(_socket(req), self.limits.body_timeout, self.limits.idle_seconds)
        try:
            if req.chunked_read:
                # cheroot's own chunked reader treats a negative size as the end; read it strictly.
                body = read_chunked(req.conn.rfile, limit, deadline)
            else:
                length = parse_content_length(environ.get("CONTENT_LENGTH"))
                stream = environ["wsgi.input"]
                if length > limit:
                    if length <= config.HTTP_DISCARD_MAX_BYTES:
                        discard(stream, length, deadline)  # so the client, still sending, reads the 413
                    raise PayloadTooLarge(f"body of {length} bytes exceeds the limit of {limit} bytes")
                body = read_known_length(stream, length, deadline)
        finally:
            deadline.restore()
        environ["bridge.body_read"] = True
        return body

    def _export(
        self, environ: dict[str, Any], message_type: type[Message], raw_type: str, handle: Handler
    ) -> Message:
        raw = self._read_body(environ)
        encoding = (environ.get("HTTP_CONTENT_ENCODING") or "identity").strip().lower()
        limit = self.limits.max_body_bytes
        if encoding in ("", "identity"):
            reserve = len(raw)  # the body is the decoded bytes
        else:  # the compressed body plus a guess at what it inflates to, corrected below
            reserve = min(len(raw) * (1 + config.GZIP_ESTIMATE_FACTOR), len(raw) + limit, self.budget.limit)
        # Only a complete body takes budget: a slow or stalled client holds none.
        with self.budget.reserve(reserve) as reservation:
            body = decompress(raw, encoding, limit)
            if body is not raw:
                del raw
            reservation.resize(len(body))
            decode = decode_protobuf if raw_type == PROTOBUF else decode_json
            message = decode(body, message_type)
            del body
            return handle(message)  # database trouble arrives as DatabaseUnavailable


def _socket(req: Any) -> socket.socket | None:
    sock = getattr(req.conn, "socket", None)
    return sock if isinstance(sock, socket.socket) else None


def build_http_server(
    ingestor: Ingestor,
    metrics: Metrics,
    host: str,
    port: int,
    *,
    readiness: Callable[[], tuple[bool, str]],
    max_body_bytes: int,
    auth: IngestAuth | None = None,
    budget: InflightBudget | None = None,
    limits: HTTPLimits | None = None,
    ssl_context: ssl.SSLContext | None = None,
    tls_files: tuple[str, str] | None = None,
    reuse_port: bool = False,
) -> OTLPHTTPServer:
    limits = limits or HTTPLimits()
    if limits.max_body_bytes != max_body_bytes:
        limits = HTTPLimits(**{**limits.__dict__, "max_body_bytes": max_body_bytes})
    return OTLPHTTPServer(
        (host, port),
        ingestor,
        metrics,
        readiness,
        limits,
        auth or IngestAuth(()),
        budget or InflightBudget(config.MAX_INFLIGHT_MIB * config.MIB, metrics.inflight_bytes),
        ssl_context,
        tls_files,
        reuse_port,
    )


__all__ = ["HTTPLimits", "HTTPStatus", "OTLPHTTPServer", "build_http_server"]
