"""Reading an HTTP request body safely: a deadline, size limits, strict chunked framing, gzip without bombs.

Problems are raised as the transport-neutral errors of `bridge.errors` (plus `BodyTimeout`);
the HTTP server maps them to status codes.
"""

from __future__ import annotations

import socket
import time
import zlib
from typing import Protocol

from bridge import config
from bridge.errors import BadRequest, LengthRequired, PayloadTooLarge, UnsupportedMediaType


class BodyTimeout(BadRequest):
    """The body did not arrive completely within the body deadline (answered 408, connection closed)."""


class Stream(Protocol):
    """What the body reader needs of a socket file (cheroot's rfile, or io.BytesIO)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


class Deadline:
    """Before each read, set the socket timeout to what is left of the body deadline."""

    def __init__(self, sock: socket.socket | None, seconds: float, per_read: float) -> None:
        self.sock = sock
        self.seconds = seconds
        self.per_read = per_read
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        left = self.end - time.monotonic()
        if left <= 0:
            raise BodyTimeout(f"request body not received within {self.seconds:g} s")
        if self.sock is not None:
            self.sock.settimeout(min(left, self.per_read))

    def restore(self) -> None:
        if self.sock is not None:
            self.sock.settimeout(self.per_read)


def _read(stream: Stream, size: int, deadline: Deadline) -> bytes:
    deadline.check()
    try:
        return stream.read(size)
    except TimeoutError:
        raise BodyTimeout(f"request body stalled; not received within {deadline.seconds:g} s") from None


def _readline(stream: Stream, deadline: Deadline) -> bytes:
    deadline.check()
    try:
        line = stream.readline(1026)
    except TimeoutError:
        raise BodyTimeout(f"request body stalled; not received within {deadline.seconds:g} s") from None
    if len(line) > 1024:
        raise BadRequest("malformed chunked transfer encoding: line too long")
    return line


def read_known_length(stream: Stream, length: int, deadline: Deadline) -> bytearray:
    """Exactly `length` bytes into one buffer (no copy when joined), or BadRequest/BodyTimeout."""
    body = bytearray(length)
    view = memoryview(body)
    pos = 0
    while pos < length:
        piece = _read(stream, min(length - pos, config.MIB), deadline)
        if not piece:
            raise BadRequest(f"body ended after {pos} of {length} bytes")
        view[pos : pos + len(piece)] = piece
        pos += len(piece)
    view.release()
    return body


def discard(stream: Stream, length: int, deadline: Deadline) -> bool:
    """Read and drop `length` bytes; False when the client stopped sending or the deadline passed."""
    remaining = length
    try:
        while remaining > 0:
            piece = _read(stream, min(remaining, config.MIB), deadline)
            if not piece:
                return False
            remaining -= len(piece)
    except (BodyTimeout, OSError):
        return False
    return True


def parse_content_length(value: str | None) -> int:
    if value is None:
        raise LengthRequired("Content-Length header is required")
    if not value.strip().isdigit():
        raise BadRequest(f"Content-Length {value!r} is not a non-negative number")
    return int(value)


def read_chunked(stream: Stream, limit: int, deadline: Deadline) -> bytearray:
    """A chunked body (RFC 9112 §7.1), strictly: bad sizes, missing CRLFs or a cut-off body are 400."""
    body = bytearray()
    while True:
        line = _readline(stream, deadline)
        if not line.endswith(b"\n"):
            raise BadRequest("malformed chunked transfer encoding: body ended inside a chunk size")
        digits = line.split(b";", 1)[0].strip()
        if not digits or any(c not in b"0123456789abcdefABCDEF" for c in digits):
            raise BadRequest(f"malformed chunked transfer encoding: chunk size {digits[:20]!r}")
        size = int(digits, 16)
        if size == 0:
            while True:  # trailer section: header lines up to an empty line
                trailer = _readline(stream, deadline)
                if not trailer.endswith(b"\n"):
                    raise BadRequest("malformed chunked transfer encoding: body ended in the trailer")
                if not trailer.strip():
                    return body
        if len(body) + size > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
        while size > 0:
            piece = _read(stream, min(size, config.MIB), deadline)
            if not piece:
                raise BadRequest("malformed chunked transfer encoding: body ended inside a chunk")
            body += piece
            size -= len(piece)
        if _readline(stream, deadline).strip():
            raise BadRequest("malformed chunked transfer encoding: chunk data longer than its size")


def decompress(body: bytes | bytearray, encoding: str | None, limit: int) -> bytes | bytearray:
    """Inflate at most `limit` bytes: a gzip bomb is refused, never inflated into memory.

    A gzip body of several members (concatenated gzip files, RFC 1952 §2.2) is read to the end.
    """
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported (use gzip or identity)")
    out = bytearray()
    data: bytes | bytearray = body
    try:
        while True:
            inflater = zlib.decompressobj(wbits)
            out += inflater.decompress(data, limit + 1 - len(out))
            if len(out) > limit or inflater.unconsumed_tail:
                raise PayloadTooLarge(f"decompressed body exceeds the limit of {limit} bytes")
            out += inflater.flush()
            if len(out) > limit:
                raise PayloadTooLarge(f"decompressed body exceeds the limit of {limit} bytes")
            if not inflater.eof:
                raise BadRequest(f"{encoding} body is truncated")
            data = inflater.unused_data
            if encoding != "gzip" or not data:
                break
            if not data.strip(b"\0"):  # zero padding after the last member, as gzip(1) allows
                break
    except zlib.error as exc:
        raise BadRequest(f"body is not valid {encoding}: {exc}") from None
    return out
