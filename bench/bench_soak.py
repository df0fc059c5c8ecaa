"""Soak: a steady rate of chat spans into a real bridge for minutes; latency, errors and RSS over time.

Starts an embedded PostgreSQL (or uses --database-url) and `agent-spend serve` on free
loopback ports, then sends --rate spans/s for --seconds from --clients threads, each with one
keep-alive connection (OTLP/HTTP protobuf, or one gRPC channel with --protocol grpc), in
requests of --spans-per-request valid chat spans with unique trace/span ids. Requests go out on
a fixed schedule (request k is due at start + k * spans-per-request / rate), not as fast as
possible; a request whose client is still busy goes out late, and that lag is reported too.
Samples the bridge's VmRSS from /proc every second. At the end prints spans sent, acknowledged
and stored (this run's rows in agent_spend_logs), non-OK answers, latency percentiles, RSS at start,
after 10 s, at the end and at most, and the achieved rate. Bounded: stops by itself, and stops
what it started (bridge, PostgreSQL, temp dir) on Ctrl-C or SIGTERM too. Not a test: numbers
vary by machine.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol, TypeVar

import grpc
import psycopg
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_support import bench_database, start_bridge  # noqa: E402

REQUEST_TIMEOUT = 30.0  # seconds; also bounds how long the end of a run waits for stragglers
RSS_EARLY_SECONDS = 10.0
P = TypeVar("P")  # what a sender puts on the wire: bytes for HTTP, the message for gRPC


@dataclass
class Outcome:
    """One request: when it was due, how late it went out, how long it took and what came back."""

    due: float  # seconds since the schedule's start
    lag: float  # seconds between due and actually sent
    latency: float  # seconds from sending to the full answer
    status: str  # "200" / "OK", another code, or "error:<exception>"
    spans: int
    accepted: int  # spans - partial_success.rejected_spans, 0 unless the answer was OK


@dataclass
class Samples:
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, KiB)
    lock: threading.Lock = field(default_factory=threading.Lock)


def template(spans: int) -> ExportTraceServiceRequest:
    """One request of `spans` chat spans; ids and times are filled in per request by `fill`."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in (("service.name", "bench-soak"), ("agent.user.id", "soak@example.com")):
        resource_spans.resource.attributes.add(key=key).value.string_value = value
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "bench-soak"
    for i in range(spans):
        span = scope.spans.add(name="chat gpt-5", kind=3)  # SPAN_KIND_CLIENT
        for key, text in (
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.request.model", "gpt-5"),
            ("gen_ai.provider.name", "openai"),
            ("agent.workspace.repo", "github.com/example/soak"),
        ):
            span.attributes.add(key=key).value.string_value = text
        for key, number in (
            ("gen_ai.usage.input_tokens", 1000 + i),
            ("gen_ai.usage.output_tokens", 200 + i),
        ):
            span.attributes.add(key=key).value.int_value = number
    return request


def fill(base: ExportTraceServiceRequest, run_id: bytes, index: int) -> ExportTraceServiceRequest:
    """A copy of `base` whose spans form trace run_id+index with span ids 1..n, ended a second ago."""
    request = ExportTraceServiceRequest()
    request.CopyFrom(base)
    trace_id = run_id + index.to_bytes(8, "big")
    end = time.time_ns() - 1_000_000_000
    session = f"soak-{run_id.hex()}-{index // 20}"
    for i, span in enumerate(request.resource_spans[0].scope_spans[0].spans):
        span.trace_id = trace_id
        span.span_id = (i + 1).to_bytes(8, "big")
        span.start_time_unix_nano = end - 1_500_000_000
        span.end_time_unix_nano = end
        span.attributes.add(key="agent.session.id").value.string_value = session
    return request


def _accepted(body: bytes, spans: int) -> int:
    response = ExportTraceServiceResponse()
    response.ParseFromString(body)
    return max(0, spans - response.partial_success.rejected_spans)


class HttpSender:
    """One keep-alive OTLP/HTTP protobuf connection; reconnects after an error."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self.conn: http.client.HTTPConnection | None = None
        self.connections = 0

    def prepare(self, request: ExportTraceServiceRequest) -> bytes:
        return request.SerializeToString()

    def send(self, body: bytes, spans: int) -> tuple[str, int]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
            self.connections += 1
        try:
            self.conn.request(
                "POST", "/v1/traces", body=body, headers={"Content-Type": "application/x-protobuf"}
            )
            response = self.conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return f"error:{type(exc).__name__}", 0
        if response.will_close:
            self.close()
        if response.status != 200:
            return str(response.status), 0
        return "200", _accepted(answer, spans)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class GrpcSender:
    """One gRPC channel (one HTTP/2 connection) per client thread."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address)
        self.stub = TraceServiceStub(self.channel)
        self.connections = 1

    def prepare(self, request: ExportTraceServiceRequest) -> ExportTraceServiceRequest:
        return request  # the stub serializes it during the call

    def send(self, request: ExportTraceServiceRequest, spans: int) -> tuple[str, int]:
        try:
            response: ExportTraceServiceResponse = self.stub.Export(request, timeout=REQUEST_TIMEOUT)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            return (code.name if code is not None else f"error:{type(exc).__name__}"), 0
        return "OK", max(0, spans - response.partial_success.rejected_spans)

    def close(self) -> None:
        self.channel.close()


class Sender(Protocol[P]):
    connections: int  # opened so far: 1 for a keep-alive client that never had to reconnect

    def prepare(self, request: ExportTraceServiceRequest) -> P: ...
    def send(self, payload: P, spans: int) -> tuple[str, int]: ...
    def close(self) -> None: ...


@dataclass
class Schedule:
    base: ExportTraceServiceRequest
    run_id: bytes
    start: float  # perf_counter of request 0's due time
    interval: float  # seconds between due times
    total: int  # requests in the whole run
    clients: int
    spans: int  # per request
    stop: threading.Event
    results: list[Outcome]
    connections: list[int]  # per client, appended when it finishes


def _send_share(sender: Sender[P], worker: int, plan: Schedule) -> None:
    """Requests worker, worker + clients, ... each at its due time (or late, if still busy)."""
    for index in range(worker, plan.total, plan.clients):
        due = index * plan.interval
        payload = sender.prepare(fill(plan.base, plan.run_id, index))  # built ahead: not latency
        wait = plan.start + due - time.perf_counter()
        if (wait > 0 and plan.stop.wait(wait)) or plan.stop.is_set():
            return
        sent = time.perf_counter()
        status, accepted = sender.send(payload, plan.spans)
        done = time.perf_counter()
        plan.results.append(Outcome(due, sent - plan.start - due, done - sent, status, plan.spans, accepted))


def client(worker: int, protocol: str, address: str, plan: Schedule) -> None:
    if protocol == "grpc":
        grpc_sender = GrpcSender(address)
        try:
            _send_share(grpc_sender, worker, plan)
        finally:
            grpc_sender.close()
            plan.connections.append(grpc_sender.connections)
    else:
        http_sender = HttpSender(address)
        try:
            _send_share(http_sender, worker, plan)
        finally:
            http_sender.close()
            plan.connections.append(http_sender.connections)


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def sample_rss(pid: int, start: float, samples: Samples, stop: threading.Event) -> None:
    """VmRSS once a second, on the second (relative to `start`), until `stop`."""
    tick = 0
    while True:
        kib = rss_kib(pid)
        if kib is not None:
            with samples.lock:
                samples.rss.append((time.perf_counter() - start, kib))
        tick += 1
        if stop.wait(max(0.0, start + tick - time.perf_counter())):
            return


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _stored(url: str, run_id: bytes) -> int:
    """Rows of this run: its spans carry session ids soak-<run id>-<n>."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM agent_spend_logs WHERE session_id LIKE %s", (f"soak-{run_id.hex()}-%",)
        ).fetchone()
    assert row is not None, "count(*) returns one row"
    count: int = row[0]
    return count


def _mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def soak(args: argparse.Namespace, url: str) -> None:
    bridge, grpc_addr, http_addr = start_bridge(url)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        # The bridge logs to stderr; drain its stdout anyway so a chatty line can never block it.
        assert bridge.stdout is not None
        stdout = bridge.stdout
        threading.Thread(target=stdout.read, daemon=True).start()
        address = grpc_addr if args.protocol == "grpc" else http_addr
        run_id = os.urandom(8)
        samples = Samples()
        time.sleep(1)  # let the bridge settle before the first RSS sample
        plan = Schedule(
            base=template(args.spans_per_request),
            run_id=run_id,
            start=time.perf_counter() + 0.2,  # the first RSS sample is taken just before it
            interval=args.spans_per_request / args.rate,
            total=math.ceil(args.seconds * args.rate / args.spans_per_request),
            clients=args.clients,
            spans=args.spans_per_request,
            stop=stop,
            results=[],
            connections=[],
        )
        sampler = threading.Thread(
            target=sample_rss, args=(bridge.pid, plan.start, samples, stop), daemon=True
        )
        sampler.start()
        for worker in range(args.clients):
            thread = threading.Thread(target=client, args=(worker, args.protocol, address, plan), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)  # short joins so Ctrl-C is seen promptly
                if bridge.poll() is not None:
                    stop.set()  # no point sending the rest of the schedule to a bridge that is gone
        finished = time.perf_counter()
        end_kib = rss_kib(bridge.pid)
        stop.set()
        sampler.join(5)
        if bridge.poll() is not None:
            print(f"bridge exited during the run with code {bridge.returncode}", file=sys.stderr)
        stored = _stored(url, run_id)
        report(args, plan, samples, end_kib, finished - plan.start, stored)
    finally:
        stop.set()  # clients send nothing more; one still waiting for an answer fails when the bridge goes
        bridge.terminate()
        try:
            bridge.wait(60)
        except subprocess.TimeoutExpired:
            bridge.kill()
            bridge.wait()
        for thread in threads:
            thread.join(1)


def report(
    args: argparse.Namespace,
    plan: Schedule,
    samples: Samples,
    end_kib: int | None,
    elapsed: float,
    stored: int,
) -> None:
    results = plan.results
    ok = "OK" if args.protocol == "grpc" else "200"
    sent = sum(r.spans for r in results)
    acknowledged = sum(r.accepted for r in results)
    failures: dict[str, int] = {}
    for r in results:
        if r.status != ok:
            failures[r.status] = failures.get(r.status, 0) + 1
    latencies = sorted(r.latency * 1000 for r in results)
    # Latency from the due time: what a client with a fixed schedule would see (includes lag).
    from_due = sorted((r.lag + r.latency) * 1000 for r in results)
    lags = sorted(max(0.0, r.lag) * 1000 for r in results)
    late = sum(1 for lag in lags if lag > 100)
    with samples.lock:
        rss = list(samples.rss)
    print(
        f"protocol={args.protocol} clients={args.clients} spans/request={args.spans_per_request} "
        f"target={args.rate:,.0f} spans/s for {args.seconds:g} s ({plan.total} requests scheduled)"
    )
    print(
        f"requests={len(results)} spans sent={sent} acknowledged={acknowledged} stored={stored} "
        f"non-{ok}={sum(failures.values())}"
        + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(failures.items()))})" if failures else "")
    )
    print(f"connections opened: {sum(plan.connections)} by {len(plan.connections)} clients (keep-alive)")

    def line(values: list[float]) -> str:
        return (
            f"p50={percentile(values, 0.50):.1f} p95={percentile(values, 0.95):.1f} "
            f"p99={percentile(values, 0.99):.1f} max={(values[-1] if values else 0.0):.1f} ms"
        )

    print(f"latency (send to answer): {line(latencies)}")
    print(f"latency (due to answer):  {line(from_due)}")
    print(f"send lag behind schedule: {line(lags)}; {late} requests more than 100 ms late")
    if rss:
        start_kib = rss[0][1]
        early = min(rss, key=lambda s: abs(s[0] - RSS_EARLY_SECONDS))
        last = end_kib if end_kib is not None else rss[-1][1]
        peak = max([kib for _, kib in rss] + [last])
        print(
            f"bridge RSS MiB: start={_mib(start_kib)} after {early[0]:.0f} s={_mib(early[1])} "
            f"end={_mib(last)} max={_mib(peak)} ({len(rss)} samples, 1/s)"
        )
    print(
        f"achieved: {sent / elapsed:,.0f} spans/s sent, {acknowledged / elapsed:,.0f} spans/s "
        f"acknowledged over {elapsed:.1f} s (schedule start to last answer)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--rate", type=float, default=2000.0, help="spans per second (default 2000)")
    parser.add_argument("--seconds", type=float, default=180.0, help="duration of sending (default 180)")
    parser.add_argument("--clients", type=int, default=4, help="client threads, one connection each")
    parser.add_argument("--spans-per-request", type=int, default=50)
    parser.add_argument("--protocol", choices=["http/protobuf", "grpc"], default="http/protobuf")
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0 or args.clients < 1 or args.spans_per_request < 1:
        parser.error("--rate, --seconds, --clients and --spans-per-request must be positive")

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with bench_database(args.database_url, prefix="agent-spend-soak-") as url:
            soak(args, url)
    except KeyboardInterrupt:
        print("interrupted; stopping what was started", file=sys.stderr)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


if __name__ == "__main__":
    main()
