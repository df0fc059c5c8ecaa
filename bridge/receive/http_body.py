"""Reading an HTTP request body safely: size limits, chunked transfer, gzip without bombs.

Problems are raised as the transport-neutral errors of `bridge.errors`; the HTTP server maps
them to status codes.
"""

from __future__ import annotations

import zlib
from typing import Protocol

from bridge import config
from bridge.errors import BadRequest, LengthRequired, PayloadTooLarge, UnsupportedMediaType


class Stream(Protocol):
    """What the body reader needs of a socket file (http.server's rfile, or io.BytesIO)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


def read_raw(stream: Stream, content_length: str | None, chunked: bool, limit: int) -> bytes:
    if chunked:
        return _read_chunked(stream, limit)
    if content_length is None:
        raise LengthRequired("Content-Length header is required")
    try:
        length = int(content_length)
    except ValueError:
        raise BadRequest(f"Content-Length {content_length!r} is not a number") from None
    if length < 0:
        raise BadRequest("Content-Length cannot be negative")
    if length > limit:
        _discard(stream, length)
        raise PayloadTooLarge(f"body of {length} bytes exceeds the limit of {limit} bytes")
    body = stream.read(length)
    if len(body) != length:
        raise BadRequest(f"body ended after {len(body)} of {length} bytes")
    return body


# Up to this size an oversized body is read and thrown away, so the client (still sending)
# receives "payload too large" instead of a broken pipe; beyond it the connection is simply closed.
MAX_DISCARD_BYTES = config.HTTP_DISCARD_MAX_BYTES


def _discard(stream: Stream, length: int) -> None:
    if length > MAX_DISCARD_BYTES:
        return
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, config.MIB))
        if not chunk:
            return
        remaining -= len(chunk)


def _read_chunked(stream: Stream, limit: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        line = stream.readline(1024).strip()
        try:
            size = int(line.split(b";")[0], 16)
        except ValueError:
            raise BadRequest("malformed chunked transfer encoding") from None
        if size == 0:
            stream.readline(1024)
            return b"".join(parts)
        total += size
        if total > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
        parts.append(stream.read(size))
        stream.readline(1024)


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Inflate at most `limit` bytes: a gzip bomb is refused, never inflated into memory."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflater = zlib.decompressobj()
    else:
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported (use gzip or identity)")
    try:
        out = inflater.decompress(body, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"decompressed body exceeds the limit of {limit} bytes")
        out += inflater.flush()
    except zlib.error as exc:
        raise BadRequest(f"body is not valid {encoding}: {exc}") from None
    if len(out) > limit:
        raise PayloadTooLarge(f"decompressed body exceeds the limit of {limit} bytes")
    if not inflater.eof:
        raise BadRequest(f"{encoding} body is truncated")
    return out
