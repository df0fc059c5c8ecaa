"""Ship OTLP export requests to a receiver over gRPC, OTLP/HTTP protobuf or OTLP/HTTP JSON.

The seeder has to exercise all three ingest paths of the bridge with the same payloads, so
this is a small OTLP client of its own rather than the SDK exporter (which batches, drops
and retries on its own schedule and hides the receiver's partial-success answer). Retries
follow the OTLP spec's throttling rules, politely and briefly: a seeder must not hammer a
bridge that is still starting or shedding load.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Literal, TypeVar
from urllib.parse import urlsplit

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2  # a gRPC server's RetryInfo hint
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from bridge import config
from seeder.otlp import count_spans, to_otlp_json

T = TypeVar("T")
Protocol = Literal["grpc", "http/protobuf", "http/json"]
PROTOCOLS: tuple[Protocol, ...] = ("grpc", "http/protobuf", "http/json")
MAX_RETRIES = 5
MAX_BACKOFF_SECONDS = 5.0
# The OTLP/HTTP spec's retryable codes.
RETRYABLE_HTTP = frozenset(
    {
        HTTPStatus.TOO_MANY_REQUESTS,
        HTTPStatus.BAD_GATEWAY,
        HTTPStatus.SERVICE_UNAVAILABLE,
        HTTPStatus.GATEWAY_TIMEOUT,
    }
)
RETRYABLE_GRPC = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
TRACES_PATH = "/v1/traces"
sleep: Callable[[float], None] = time.sleep  # module-level so tests can observe the backoff


class SeedError(RuntimeError):
    """The receiver refused the data or could not be reached; the message says what it answered."""


@dataclass
class SendResult:
    requests: int = 0
    spans_sent: int = 0
    spans_rejected: int = 0  # sum of partial_success.rejected_spans
    model_calls: int = 0  # model-call spans sent, i.e. the rows the bridge should write
    messages: list[str] = field(default_factory=list)  # distinct partial_success.error_message values

    @property
    def accepted(self) -> int:
        return self.spans_sent - self.spans_rejected


class _Retryable(Exception):
    def __init__(self, status: str, delay: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.delay = delay


def _backoff(attempt: int, hint: float | None) -> float:
    delay = hint if hint is not None else 0.5 * 2**attempt
    return max(0.0, min(MAX_BACKOFF_SECONDS, delay))


def _with_retries(export: Callable[[], T]) -> T:
    for attempt in range(MAX_RETRIES + 1):
        try:
            return export()
        except _Retryable as retry:
            if attempt == MAX_RETRIES:
                raise SeedError(
                    f"receiver still throttling after {MAX_RETRIES} retries: {retry.status}"
                ) from None
            sleep(_backoff(attempt, retry.delay))
    raise AssertionError("unreachable")  # pragma: no cover


def grpc_target(endpoint: str) -> tuple[str, bool]:
    """(host:port, use TLS) from `http://host:port`, `https://host:port` or a bare `host:port`."""
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        if not parts.netloc:
            raise SeedError(f"cannot parse gRPC endpoint {endpoint!r}")
        return parts.netloc, parts.scheme == "https"
    return endpoint.strip().rstrip("/"), False


def http_url(endpoint: str) -> str:
    url = endpoint.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    return url if url.endswith(TRACES_PATH) else url + TRACES_PATH


def _grpc_retry_delay(error: grpc.RpcError) -> float | None:
    trailers = getattr(error, "trailing_metadata", lambda: None)() or ()
    for key, value in trailers:
        if key != "grpc-status-details-bin":
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except DecodeError:
            return None
        for detail in status.details:
            info = error_details_pb2.RetryInfo()
            if detail.Unpack(info):
                return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None


def _retry_after(header: str | None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP date."""
    if not header:
        return None
    try:
        return float(header)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return (when - datetime.now(UTC)).total_seconds()


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _post(
    opener: urllib.request.OpenerDirector, url: str, body: bytes, content_type: str, timeout: float
) -> tuple[bytes, str]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "User-Agent": "agent-spend-seeder/0.1"},
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        detail = error.read()[:1000].decode("utf-8", "replace")
        if error.code in RETRYABLE_HTTP:
            raise _Retryable(
                f"HTTP {error.code}: {detail}", _retry_after(error.headers.get("Retry-After"))
            ) from None
        raise SeedError(f"POST {url} failed: HTTP {error.code}: {detail}") from None
    except urllib.error.URLError as error:
        raise SeedError(f"POST {url} failed: {error.reason}") from None


def _parse_response(body: bytes, content_type: str, sent_json: bool) -> ExportTraceServiceResponse:
    response = ExportTraceServiceResponse()
    if not body.strip():
        return response
    try:
        if "json" in content_type or (sent_json and "protobuf" not in content_type):
            json_format.Parse(body.decode("utf-8"), response, ignore_unknown_fields=True)
        else:
            response.ParseFromString(body)
    except (DecodeError, json_format.ParseError, UnicodeDecodeError) as error:
        raise SeedError(
            f"unreadable export response ({content_type or 'no content type'}): {error}"
        ) from None
    return response


def _http_exporter(
    endpoint: str, protocol: Protocol, timeout: float
) -> Callable[[ExportTraceServiceRequest], ExportTraceServiceResponse]:
    url = http_url(endpoint)
    # A local bridge must never be reached through a corporate proxy from the environment.
    handlers = [urllib.request.ProxyHandler({})] if _is_loopback(url) else []
    opener = urllib.request.build_opener(*handlers)
    as_json = protocol == "http/json"

    def export(request: ExportTraceServiceRequest) -> ExportTraceServiceResponse:
        if as_json:
            body, content_type = json.dumps(to_otlp_json(request)).encode("utf-8"), "application/json"
        else:
            body, content_type = request.SerializeToString(), "application/x-protobuf"
        answer, answer_type = _with_retries(lambda: _post(opener, url, body, content_type, timeout))
        return _parse_response(answer, answer_type, as_json)

    return export


def _grpc_export(
    stub: TraceServiceStub, request: ExportTraceServiceRequest, timeout: float
) -> ExportTraceServiceResponse:
    try:
        response: ExportTraceServiceResponse = stub.Export(request, timeout=timeout)
        return response
    except grpc.RpcError as error:
        code = error.code() if hasattr(error, "code") else None
        details = error.details() if hasattr(error, "details") else str(error)
        if code in RETRYABLE_GRPC:
            raise _Retryable(f"gRPC {code.name}: {details}", _grpc_retry_delay(error)) from None
        name = code.name if code is not None else "UNKNOWN"
        raise SeedError(f"gRPC export failed: {name}: {details}") from None


def send(
    requests: Iterable[ExportTraceServiceRequest],
    endpoint: str,
    protocol: Protocol = "grpc",
    timeout: float = config.SEED_TIMEOUT_SECONDS,
) -> SendResult:
    """Send every request in order, stopping at the first one the receiver refuses outright."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    result = SendResult()

    def record(request: ExportTraceServiceRequest, response: ExportTraceServiceResponse) -> None:
        spans, model_calls = count_spans(request)
        result.requests += 1
        result.spans_sent += spans
        result.model_calls += model_calls
        result.spans_rejected += response.partial_success.rejected_spans
        message = response.partial_success.error_message
        if message and message not in result.messages:
            result.messages.append(message)

    if protocol == "grpc":
        target, tls = grpc_target(endpoint)
        channel = (
            grpc.secure_channel(target, grpc.ssl_channel_credentials())
            if tls
            else grpc.insecure_channel(target)
        )
        with channel:
            stub = TraceServiceStub(channel)
            for request in requests:
                record(request, _with_retries(functools.partial(_grpc_export, stub, request, timeout)))
    else:
        export = _http_exporter(endpoint, protocol, timeout)
        for request in requests:
            record(request, export(request))
    return result
