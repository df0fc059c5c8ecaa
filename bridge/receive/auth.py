"""Optional shared-token authentication for OTLP exports.

Exporters send it with `OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <token>"`; the
bridge compares in constant time against the configured tokens (several, so tokens can
be rotated without downtime). Health, readiness and metrics stay open for probes.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import grpc


class IngestAuth:
    """The configured bearer tokens, and the constant-time check of an Authorization header."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens = tuple(t.strip().encode() for t in tokens if t.strip())

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def allows(self, authorization: str | None) -> bool:
        if not self.enabled:
            return True
        if not authorization:
            return False
        scheme, _, credential = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        presented = credential.strip().encode()
        # Check every token so timing does not reveal which one (or how many) exist.
        return any([hmac.compare_digest(presented, token) for token in self.tokens])


MISSING = "missing or invalid bearer token: set OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer <token>'"


if TYPE_CHECKING:  # grpc-stubs makes the interceptor generic; grpc itself does not subscript
    _ServerInterceptor = grpc.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.ServerInterceptor


class GrpcAuthInterceptor(_ServerInterceptor):
    """Refuses every gRPC export without a valid bearer token with UNAUTHENTICATED."""

    def __init__(self, auth: IngestAuth) -> None:
        self.auth = auth

        def deny(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, MISSING)

        self._deny = grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        metadata = dict(handler_call_details.invocation_metadata or ())
        authorization = metadata.get("authorization")
        if isinstance(authorization, bytes):  # only "-bin" keys carry bytes; be lenient anyway
            authorization = authorization.decode("latin-1")
        if self.auth.allows(authorization):
            return continuation(handler_call_details)
        return self._deny
