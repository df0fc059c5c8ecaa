"""Malformed OTLP requests, generated deterministically: never a 5xx other than 503, never a hang,
and the bridge still healthy afterwards.

Mutations of valid payloads (bit flips, truncation, inserted bytes, wrong lengths, broken
chunked framing, gzip of garbage, wrong content types) from a fixed seed, so a failure
reproduces. Each HTTP request goes over its own connection with a bounded timeout.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import socket
import time

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bridge.receive.decode import decode_json
from tests.support.bridge_process import BridgeProcess
from tests.support.otlp import get, json_log, json_logs, json_span, json_traces

SEED = 20261201
HTTP_CASES = 300
GRPC_CASES = 150
TRACE = "6bf92f3577b34da6a3ce929d0e0e4736"

TRACES_JSON = json.dumps(
    json_traces(
        {"service.name": "fuzz", "agent.user.id": "f@example.com"},
        [
            json_span(
                TRACE,
                f"{i:016x}",
                "chat",
                {
                    "gen_ai.request.model": "gpt-5",
                    "gen_ai.usage.input_tokens": i,
                    "gen_ai.usage.output_tokens": 2,
                },
            )
            for i in range(1, 4)
        ],
    )
).encode()
LOGS_JSON = json.dumps(
    json_logs({"service.name": "fuzz"}, [json_log({"event.name": "api_request", "model": "x"})])
).encode()
TRACES_PB = decode_json(TRACES_JSON, ExportTraceServiceRequest).SerializeToString()
LOGS_PB = decode_json(LOGS_JSON, ExportLogsServiceRequest).SerializeToString()


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(5)
        if kind == 0 and out:  # flip bits
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:  # truncate
            del out[rng.randrange(len(out)) :]
        elif kind == 2:  # insert random bytes
            i = rng.randrange(len(out) + 1)
            out[i:i] = rng.randbytes(rng.randint(1, 16))
        elif kind == 3 and out:  # duplicate a slice
            i = rng.randrange(len(out))
            out[i:i] = out[i : i + rng.randint(1, 64)]
        else:  # overwrite with a structural byte
            if out:
                out[rng.randrange(len(out))] = rng.choice(b'{}[]":,\x00\x08\x0a\x12\xff')
    return bytes(out)


def http_case(rng: random.Random) -> bytes:
    path = rng.choice(["/v1/traces", "/v1/logs", "/v1/metrics", "/v1/traces/", "/v1/nope"])
    protobuf = rng.random() < 0.5
    base = (
        (TRACES_PB if path.startswith("/v1/traces") else LOGS_PB)
        if protobuf
        else (TRACES_JSON if path.startswith("/v1/traces") else LOGS_JSON)
    )
    body = mutate(rng, base) if rng.random() < 0.9 else base
    headers = {
        "Host": "fuzz",
        "Content-Type": rng.choice(
            ["application/x-protobuf" if protobuf else "application/json"] * 4
            + ["text/plain", "", "application/json; x"]
        ),
    }
    if rng.random() < 0.3:
        body = gzip.compress(body) if rng.random() < 0.7 else mutate(rng, gzip.compress(body))
        headers["Content-Encoding"] = rng.choice(["gzip", "gzip", "deflate", "br", "GZIP"])
    framing = rng.randrange(6)
    if framing == 0:  # chunked, possibly broken
        pieces = [body[i : i + 37] for i in range(0, len(body), 37)]
        raw = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"
        headers["Transfer-Encoding"] = "chunked"
        payload = mutate(rng, raw) if rng.random() < 0.7 else raw
    elif framing == 1:  # Content-Length larger than the body (we close our side: the bridge sees EOF)
        headers["Content-Length"] = str(len(body) + rng.randint(1, 500))
        payload = body
    elif framing == 2:  # shorter: the rest looks like a (bad) next request
        headers["Content-Length"] = str(max(0, len(body) - rng.randint(1, 50)))
        payload = body
    elif framing == 3:  # a nonsense Content-Length
        headers["Content-Length"] = rng.choice(["-1", "abc", "1e3", " 12", "99999999999999999999"])
        payload = body
    else:
        headers["Content-Length"] = str(len(body))
        payload = body
    if rng.random() < 0.05:
        headers.pop("Content-Length", None)
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + payload


def send(address: tuple[str, int], raw: bytes) -> bytes:
    with socket.create_connection(address, timeout=15) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the bridge may answer and close before reading everything
        data = b""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            data += piece
        return data


def test_malformed_http_requests_get_4xx_or_503(bridge: BridgeProcess) -> None:
    rng = random.Random(SEED)
    host, port = bridge.http.rsplit(":", 1)
    statuses: dict[int, int] = {}
    for i in range(HTTP_CASES):
        raw = http_case(rng)
        answer = send((host, int(port)), raw)
        found = re.findall(rb"^HTTP/1\.1 (\d{3}) ", answer, re.M)
        assert found, f"case {i}: no answer to {raw[:300]!r}"
        for code in map(int, found):
            assert code < 500 or code == 503, f"case {i}: {code} for {raw[:300]!r}: {answer[:500]!r}"
            statuses[code] = statuses.get(code, 0) + 1
    assert statuses.get(400, 0) > 0 and get(f"{bridge.http_url}/healthz")[0] == 200
    assert bridge.process.poll() is None


def test_malformed_grpc_bodies_are_invalid_argument(bridge: BridgeProcess) -> None:
    rng = random.Random(SEED + 1)
    allowed = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAVAILABLE}
    seen: set[grpc.StatusCode] = set()
    with grpc.insecure_channel(bridge.grpc) as channel:
        methods = {
            "traces": channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
            "logs": channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export"),
            "metrics": channel.unary_unary("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"),
        }
        for i in range(GRPC_CASES):
            name = rng.choice(sorted(methods))
            body = mutate(rng, TRACES_PB if name == "traces" else LOGS_PB)
            try:
                methods[name](body, timeout=15)
                code = grpc.StatusCode.OK
            except grpc.RpcError as exc:
                code = exc.code()
            assert code in allowed, f"case {i}: {code} for {body!r}"
            seen.add(code)
    assert grpc.StatusCode.INVALID_ARGUMENT in seen
    assert get(f"{bridge.http_url}/healthz")[0] == 200 and bridge.process.poll() is None
