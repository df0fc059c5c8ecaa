"""Memory of one large export: the bridge's RSS before, at peak and after one big OTLP/HTTP request.

Starts an embedded PostgreSQL (or uses --database-url) and `agent-spend serve` on free
loopback ports, builds one gzip'd protobuf export of --spans model-call spans (120,000 is
~54 MiB decoded, ~4 MiB gzip'd), sends it once and prints the bridge's VmRSS and VmHWM
(peak) from /proc. Not a test: numbers vary by machine and Python build.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_support import bench_database, start_bridge  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402


def build(spans: int) -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in (("service.name", "bench"), ("agent.user.id", "bench@example.com")):
        attribute = resource_spans.resource.attributes.add(key=key)
        attribute.value.string_value = value
    scope = resource_spans.scope_spans.add()
    now = time.time_ns()
    for i in range(spans):
        span = scope.spans.add(
            trace_id=i.to_bytes(16, "big"),
            span_id=(i + 1).to_bytes(8, "big"),
            name="chat gpt-5",
            kind=3,
            start_time_unix_nano=now - 60_000_000_000,
            end_time_unix_nano=now - 59_000_000_000,
        )
        for key, text in (
            ("gen_ai.request.model", "gpt-5"),
            ("gen_ai.provider.name", "openai"),
            ("agent.session.id", f"session-{i // 100}"),
            ("agent.workspace.repo", "github.com/example/a-repository-with-a-long-name"),
            ("agent.workspace.cwd", "/home/developer/src/a-repository-with-a-long-name/service"),
        ):
            span.attributes.add(key=key).value.string_value = text
        for key, number in (
            ("gen_ai.usage.input_tokens", 1000 + i % 500),
            ("gen_ai.usage.output_tokens", 200 + i % 50),
            ("gen_ai.usage.cache_read.input_tokens", 500),
        ):
            span.attributes.add(key=key).value.int_value = number
    return request.SerializeToString()


def memory(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) // 1024  # MiB
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--spans", type=int, default=120_000)
    args = parser.parse_args()

    with bench_database(args.database_url) as url:
        raw = build(args.spans)
        body = gzip.compress(raw, 6)
        bridge, _grpc_addr, http_addr = start_bridge(url)
        try:
            time.sleep(1)
            before = memory(bridge.pid)
            request = urllib.request.Request(
                f"http://{http_addr}/v1/traces",
                data=body,
                headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
                method="POST",
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=600) as response:
                status = response.status
            elapsed = time.perf_counter() - started
            time.sleep(1)
            after = memory(bridge.pid)
            print(
                f"spans={args.spans} decoded={len(raw) / 2**20:.1f} MiB gzip={len(body) / 2**20:.1f} MiB "
                f"status={status} seconds={elapsed:.1f}"
            )
            print(
                f"RSS before={before['VmRSS']} MiB peak={after['VmHWM']} MiB "
                f"(+{after['VmHWM'] - before['VmRSS']}) after={after['VmRSS']} MiB "
                f"(+{after['VmRSS'] - before['VmRSS']})"
            )
        finally:
            bridge.terminate()
            bridge.wait(60)


if __name__ == "__main__":
    main()
