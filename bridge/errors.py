"""Transport-neutral errors: what went wrong, and whether the sender should retry.

Both transports map these to their own codes by name (HTTP and gRPC), so the ingest path never
knows which protocol a request came in on.
"""

from __future__ import annotations


class Overloaded(Exception):
    """The bridge cannot take this request now; the exporter should retry later."""


class DatabaseUnavailable(Overloaded):
    """The database did not answer or refused the connection; retryable like an overload."""
