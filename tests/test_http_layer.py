"""The OTLP/HTTP listener under hostile or unusual clients: each test here failed on the stdlib server.

Loopback only; every test bounds its connections, its requests and its time.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bridge.receive.decode import decode_json
from tests.support.bridge_process import BridgeProcess, start_bridge
from tests.support.db import rows
from tests.support.otlp import chat_traces, get, post

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def spans(n: int, offset: int = 0) -> dict[str, Any]:
    return chat_traces(n, TRACE, offset=offset, service="layer")


def protobuf(n: int, offset: int = 0) -> bytes:
    return decode_json(json.dumps(spans(n, offset)).encode(), ExportTraceServiceRequest).SerializeToString()


def address(bridge: BridgeProcess) -> tuple[str, int]:
    host, port = bridge.http.rsplit(":", 1)
    return host, int(port)


def exchange(bridge: BridgeProcess, raw: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, close our sending side, and read until the bridge closes (bounded)."""
    with socket.create_connection(address(bridge), timeout=timeout) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
        return data


@contextmanager
def open_sockets(bridge: BridgeProcess, count: int) -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection(address(bridge), timeout=10))
        yield socks
    finally:
        for sock in socks:
            sock.close()


def threads_of(bridge: BridgeProcess) -> int:
    return len(os.listdir(f"/proc/{bridge.process.pid}/task"))


def test_slow_clients_do_not_stop_ingest(bridge: BridgeProcess, database_url: str) -> None:
    """40 clients that sent headers and 3 bytes of body hold no export slot and no budget."""
    with open_sockets(bridge, 40) as socks:
        for sock in socks:
            sock.sendall(
                b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100000\r\n\r\n{"r'
            )
        time.sleep(0.5)
        # Before, the stalled bodies held every export slot: this waited 10 s and got 503.
        status, _headers, _payload = post(f"{bridge.http_url}/v1/traces", spans(2))
        assert status == 200
        assert get(f"{bridge.http_url}/healthz")[0] == 200
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(2,)]


def test_stalled_body_is_dropped_after_the_body_timeout(database_url: str) -> None:
    bridge = start_bridge(database_url, "--http-body-timeout", "1")
    try:
        with socket.create_connection(address(bridge), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"r'
            )
            data = b""  # the socket's 10 s timeout bounds the wait for the 408
            while piece := sock.recv(65536):
                data += piece
        assert data.startswith(b"HTTP/1.1 408"), data[:100]
    finally:
        assert bridge.stop() == 0


def test_idle_keepalive_connections_hold_no_thread(bridge: BridgeProcess, database_url: str) -> None:
    before = threads_of(bridge)
    with open_sockets(bridge, 300) as socks:
        for sock in socks:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        for sock in socks:
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)
        during = threads_of(bridge)
        assert during < before + 20 and during < 150, (before, during)
        assert post(f"{bridge.http_url}/v1/traces", spans(1))[0] == 200
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(1,)]


def test_a_burst_of_connections_is_not_reset(bridge: BridgeProcess) -> None:
    results: list[int | str] = []
    barrier = threading.Barrier(60)

    def client() -> None:
        barrier.wait(10)
        for _ in range(3):
            try:
                results.append(get(f"{bridge.http_url}/healthz")[0])
            except OSError as exc:
                results.append(repr(exc))

    workers = [threading.Thread(target=client) for _ in range(60)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert results == [200] * 180


@pytest.mark.parametrize(
    "framing",
    [
        b"-5\r\nhello\r\n0\r\n\r\n",  # negative chunk size
        b"zz\r\nhello\r\n0\r\n\r\n",  # not hex
        b"5\r\nhelloXX0\r\n\r\n",  # data longer than its size
        b"5\r\nhel",  # cut off inside a chunk
    ],
)
def test_malformed_chunked_framing_is_400(bridge: BridgeProcess, framing: bytes) -> None:
    head = (
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    assert exchange(bridge, head + framing).startswith(b"HTTP/1.1 400")
    assert get(f"{bridge.http_url}/healthz")[0] == 200


def test_valid_chunked_body_is_stored(bridge: BridgeProcess, database_url: str) -> None:
    body = json.dumps(spans(2)).encode()
    framing = (
        b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in (body[:10], body[10:])) + b"0\r\n\r\n"
    )
    head = (
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    assert exchange(bridge, head + framing).startswith(b"HTTP/1.1 200")
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(2,)]


@pytest.mark.parametrize("depth", [200, 1000, 100_000])
def test_deeply_nested_json_is_400(bridge: BridgeProcess, depth: int) -> None:
    value = '{"arrayValue":{"values":[' * depth + "]}}" * depth
    body = '{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":' + value + "}]}}]}"
    status, _headers, payload = post(f"{bridge.http_url}/v1/traces", body.encode())
    assert status == 400 and "nested" in json.loads(payload)["message"]


def test_multi_member_gzip_is_read_to_the_end(bridge: BridgeProcess, database_url: str) -> None:
    # Concatenated protobuf messages merge (repeated fields append): both members' spans count.
    body = gzip.compress(protobuf(2)) + gzip.compress(protobuf(3, offset=100))
    status, _headers, _payload = post(
        f"{bridge.http_url}/v1/traces",
        body,
        "application/x-protobuf",
        headers={"Content-Encoding": "gzip"},
    )
    assert status == 200
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(5,)]


def test_unauthenticated_large_body_gets_401_not_a_reset(database_url: str) -> None:
    bridge = start_bridge(database_url, "--ingest-token", "s3cret")
    try:
        body = b'{"resourceSpans":[],"pad":"' + b"x" * (2 * 1024 * 1024) + b'"}'
        for _ in range(3):
            status, headers, _payload = post(f"{bridge.http_url}/v1/traces", body)
            assert status == 401 and headers.get("WWW-Authenticate") == "Bearer"
    finally:
        assert bridge.stop() == 0


def test_grpc_undecodable_body_is_invalid_argument(bridge: BridgeProcess) -> None:
    with grpc.insecure_channel(bridge.grpc) as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        with pytest.raises(grpc.RpcError) as caught:
            export(b"\xff\xff\xff\xff not protobuf", timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid" in (caught.value.details() or "")
