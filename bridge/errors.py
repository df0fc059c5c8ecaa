"""Transport-neutral errors: what went wrong, and whether the sender should retry.

One hierarchy: `Retryable` errors (the bridge or its database is busy or down; the exporter
should back off and resend) and `Permanent` ones (the request itself is wrong; resending the
same bytes cannot succeed). Each transport maps these classes to its own codes by name in one
table (HTTP: `bridge.receive.http_server.HTTP_ANSWERS`; gRPC:
`bridge.receive.grpc_server.GRPC_STATUS`), so the ingest path never knows which protocol a
request came in on.
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base of every error the bridge reports to a sender; the text is meant for that sender."""


class Retryable(BridgeError):
    """The request may succeed later unchanged: the exporter should back off and retry."""


class Permanent(BridgeError):
    """The request cannot succeed as sent: retrying the same bytes fails the same way."""


class Overloaded(Retryable):
    """The bridge cannot take this request now; the exporter should retry later."""


class DatabaseUnavailable(Overloaded):
    """The database did not answer or refused the connection; retryable like an overload."""


class BadRequest(Permanent, ValueError):
    """The body is malformed: bad framing, bad Content-Length, or not a valid OTLP message."""


class LengthRequired(Permanent):
    """Neither Content-Length nor chunked transfer encoding told us where the body ends."""


class PayloadTooLarge(Permanent):
    """The body, before or after decompression, exceeds the configured size limit."""


class UnsupportedMediaType(Permanent):
    """The Content-Type or Content-Encoding is not one the bridge understands."""


class Unauthenticated(Permanent):
    """A bearer token is required and was missing or wrong."""


class NotFound(Permanent):
    """No OTLP endpoint at the requested path."""
