"""Reading an HTTP request body safely: size limits, chunked transfer, gzip without bombs."""

from __future__ import annotations

import zlib
from typing import BinaryIO


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_raw(stream: BinaryIO, content_length: str | None, chunked: bool, limit: int) -> bytes:
    if chunked:
        return _read_chunked(stream, limit)
    if content_length is None:
        raise BodyError(411, "Content-Length header is required")
    try:
        length = int(content_length)
    except ValueError:
        raise BodyError(400, f"Content-Length {content_length!r} is not a number") from None
    if length < 0:
        raise BodyError(400, "Content-Length cannot be negative")
    if length > limit:
        _discard(stream, length)
        raise BodyError(413, f"body of {length} bytes exceeds the limit of {limit} bytes")
    body = stream.read(length)
    if len(body) != length:
        raise BodyError(400, f"body ended after {len(body)} of {length} bytes")
    return body


# Up to this size an oversized body is read and thrown away, so the client (still sending)
# receives the 413 instead of a broken pipe; beyond it the connection is simply closed.
MAX_DISCARD_BYTES = 256 * 1024 * 1024


def _discard(stream: BinaryIO, length: int) -> None:
    if length > MAX_DISCARD_BYTES:
        return
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            return
        remaining -= len(chunk)


def _read_chunked(stream: BinaryIO, limit: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        line = stream.readline(1024).strip()
        try:
            size = int(line.split(b";")[0], 16)
        except ValueError:
            raise BodyError(400, "malformed chunked transfer encoding") from None
        if size == 0:
            stream.readline(1024)
            return b"".join(parts)
        total += size
        if total > limit:
            raise BodyError(413, f"body exceeds the limit of {limit} bytes")
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
        raise BodyError(415, f"Content-Encoding {encoding!r} is not supported (use gzip or identity)")
    try:
        out = inflater.decompress(body, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise BodyError(413, f"decompressed body exceeds the limit of {limit} bytes")
        out += inflater.flush()
    except zlib.error as exc:
        raise BodyError(400, f"body is not valid {encoding}: {exc}") from None
    if len(out) > limit:
        raise BodyError(413, f"decompressed body exceeds the limit of {limit} bytes")
    if not inflater.eof:
        raise BodyError(400, f"{encoding} body is truncated")
    return out
