"""The Python path alone: decode → map → price → build the row, no database, in spans/s per core.

What `bridge/ingest.py` does for one export minus the writer: protobuf bytes are decoded
(`ExportTraceServiceRequest.FromString` / logs), mapped (`bridge.mapping.map_traces` /
`map_logs`), every call priced (`Pricer().price`) and turned into a row (`to_row`, plus
`context_row` for the trace contexts). Time is the process's CPU time (`time.process_time()`),
so the figure is per core and holds up when other work shares the machine; each round maps
every request once, and the median and best rounds are reported.

Mixes (`--mix`):

- `seeder` (the default, the figure the docs quote): the seeder's export requests
  (`seeder.generate` + `seeder.otlp.to_requests`), i.e. `invoke_agent` roots, `chat` model
  calls and `execute_tool` spans with `gen_ai.*` and `agent.*` attributes;
- `logs`: harness log records built here in the shapes of Claude Code (`api_request`), Codex
  (`codex.sse_event`), Gemini CLI (`api_response` and its inference-details twin) and a GenAI
  inference event;
- `all`: both.

`--profile` runs one more round under cProfile and prints the top functions and how many
`str.startswith` and `any()` calls the round made.

`--dump FILE` writes what the path produces (rows, contexts, rejections, counts) for a fixed
corpus much larger than the timed mix (bench/mapping_corpus.py); `--check-against FILE` maps the
same corpus again and compares line by line, exiting non-zero on the first differences. Dump
before an optimisation, check after it: the output must stay identical (a row's attributes
are compared as the value their JSON encodes, not as its spelling).

Not a test: numbers vary by machine. Measured figures are in docs/scale.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope  # noqa: E402
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs  # noqa: E402
from opentelemetry.proto.resource.v1.resource_pb2 import Resource  # noqa: E402

from bridge.mapping import MappingResult, map_logs, map_traces  # noqa: E402
from bridge.pricing.pricer import Pricer  # noqa: E402
from bridge.store.rows import context_row, to_row  # noqa: E402
from seeder.generate import generate  # noqa: E402
from seeder.otlp import key_values, to_requests  # noqa: E402

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # fixed: same requests on every run
NOW_NS = int(NOW.timestamp()) * 1_000_000_000
RECORDS_PER_LOG_REQUEST = 500


@dataclass(slots=True)
class Payload:
    """One serialised export request and how the receive layer would decode it."""

    signal: str
    body: bytes
    records: int


def seeder_payloads(days: int, users: int, seed: int) -> list[Payload]:
    requests = to_requests(generate(days=days, users=users, seed=seed, now=NOW))
    out = []
    for request in requests:
        spans = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        out.append(Payload("trace", request.SerializeToString(), spans))
    return out


# -- harness log records, in the shapes of each harness's own exporter -----------------------
def _claude(i: int) -> dict[str, Any]:
    return {
        "session.id": f"cec62d6f-60f8-43e8-a67b-{i // 40:012d}",
        "user.email": f"dev{i % 17}@example.com",
        "user.account_uuid": "11111111-1111-1111-1111-111111111111",
        "organization.id": "00000000-0000-0000-0000-000000000000",
        "terminal.type": "vscode",
        "prompt.id": f"0c9d7e0b-5f3c-4d0a-9f7e-{i:012d}",
        "app.version": "2.1.289",
        "event.name": "api_request",
        "event.timestamp": "2026-01-15T10:00:00.000Z",
        "event.sequence": i,
        "model": "claude-sonnet-4-5-20250929",
        "input_tokens": 12 + i % 50,
        "output_tokens": str(800 + i % 300),
        "cache_read_tokens": 48210.0 + i,
        "cache_creation_tokens": 3120,
        "cost_usd": 0.0361785,
        "duration_ms": 4210,
        "ttft_ms": 610,
        "speed": "normal",
        "query_source": "repl_main_thread",
        "request_id": f"req_011CbtJR1bZ4uLs3h{i:010d}",
    }


def _codex(i: int) -> dict[str, Any]:
    return {
        "conversation.id": f"0199a3c5-8f42-7d11-b2c3-{i // 40:012d}",
        "app.version": "0.171.0",
        "auth_mode": "ApiKey",
        "originator": "codex_exec",
        "user.account_id": f"acct-{i % 13}",
        "user.email": f"dev{i % 13}@example.com",
        "terminal.type": "unknown",
        "model": "gpt-5.3-codex",
        "slug": "gpt-5.3-codex",
        "event.name": "codex.sse_event",
        "event.kind": "response.completed",
        "event.timestamp": f"2026-01-15T10:{i % 60:02d}:03.500Z",
        "input_token_count": str(4000 + i),
        "output_token_count": "90",
        "cached_token_count": 3000,
        "reasoning_token_count": 40,
        "tool_token_count": "4090",
    }


def _gemini(i: int, details: bool) -> dict[str, Any]:
    common = {
        "session.id": f"9f1c2d3e-4b5a-6978-8a9b-{i // 40:012d}",
        "installation.id": "7e2f-installation",
        "interactive": True,
        "user.email": f"dev{i % 11}@example.com",
        "event.timestamp": f"2026-01-15T10:00:{i % 60:02d}.456Z",
    }
    if details:
        return {
            **common,
            "event.name": "gen_ai.client.inference.operation.details",
            "gen_ai.response.id": f"resp-{i}",
            "gen_ai.operation.name": "generate_content",
            "gen_ai.provider.name": "gcp.gen_ai",
            "gen_ai.request.model": "gemini-2.5-pro",
            "gen_ai.response.model": "gemini-2.5-pro",
            "gen_ai.usage.input_tokens": 10000,
            "gen_ai.usage.output_tokens": 500,
        }
    return {
        **common,
        "event.name": "gemini_cli.api_response",
        "model": "gemini-2.5-pro",
        "duration_ms": 5321,
        "input_token_count": 10000 + i,
        "output_token_count": 500,
        "cached_content_token_count": 6000,
        "thoughts_token_count": 1200,
        "tool_token_count": 100,
        "total_token_count": 11800,
        "prompt_id": f"9f1c2d3e########{i}",
        "auth_type": "gemini-api-key",
        "status_code": 200,
        "finish_reasons": ["STOP"],
    }


def _genai_event(i: int) -> dict[str, Any]:
    return {
        "event.name": "gen_ai.client.inference.operation.details",
        "gen_ai.response.id": f"chatcmpl-{i}",
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4.1",
        "gen_ai.response.model": "gpt-4.1-2025-04-14",
        "gen_ai.usage.input_tokens": 2000 + i,
        "gen_ai.usage.output_tokens": 150,
        "gen_ai.usage.cache_read.input_tokens": 1024,
        "user.id": f"dev{i % 7}@example.com",
        "gen_ai.conversation.id": f"conv-{i // 40}",
    }


LogShape = tuple[Mapping[str, Any], str, Callable[[int], dict[str, Any]], str]
LOG_SHAPES: list[LogShape] = [
    ({"service.name": "claude-code", "service.version": "2.1.289"}, "com.anthropic.claude_code.events",
     _claude, "claude_code.api_request"),
    ({"service.name": "codex_exec", "service.version": "0.171.0", "env": "prod"}, "codex_otel.log_only",
     _codex, "event otel/src/events/session_telemetry.rs:863"),
    ({"service.name": "gemini-cli", "service.version": "0.21.0"}, "gemini-cli",
     lambda i: _gemini(i, details=i % 2 == 1), ""),
    ({"service.name": "chat-service", "agent.user.team": "platform"}, "opentelemetry.instrumentation.openai",
     _genai_event, "gen_ai.client.inference.operation.details"),
]  # fmt: skip


def log_payloads(records: int) -> list[Payload]:
    """`records` log records per harness shape, cut into requests of RECORDS_PER_LOG_REQUEST."""
    out = []
    for resource, scope, attrs_of, event_name in LOG_SHAPES:
        for start in range(0, records, RECORDS_PER_LOG_REQUEST):
            wire = []
            for i in range(start, min(records, start + RECORDS_PER_LOG_REQUEST)):
                attrs = attrs_of(i)
                name = event_name or str(attrs["event.name"])
                body = name if name.startswith("claude_code.") else ""
                record = LogRecord(
                    time_unix_nano=NOW_NS - (records - i) * 1_000_000_000,
                    observed_time_unix_nano=NOW_NS,
                    event_name=name,
                    attributes=key_values(attrs),
                )
                if body:
                    record.body.string_value = body
                wire.append(record)
            request = ExportLogsServiceRequest(
                resource_logs=[
                    ResourceLogs(
                        resource=Resource(attributes=key_values(dict(resource))),
                        scope_logs=[ScopeLogs(scope=InstrumentationScope(name=scope), log_records=wire)],
                    )
                ]
            )
            out.append(Payload("log", request.SerializeToString(), len(wire)))
    return out


# -- the path under test -------------------------------------------------------------------------
def python_path(payload: Payload, pricer: Pricer) -> tuple[int, int]:
    """Decode, map, price and build rows for one export: (rows, contexts)."""
    mapped: MappingResult
    if payload.signal == "trace":
        mapped = map_traces(ExportTraceServiceRequest.FromString(payload.body))
    else:
        mapped = map_logs(ExportLogsServiceRequest.FromString(payload.body))
    rows = [to_row(call, pricer.price(call)) for call in mapped.calls]
    contexts = [context_row(ctx) for ctx in mapped.contexts]
    return len(rows), len(contexts)


def one_round(payloads: list[Payload], pricer: Pricer) -> tuple[float, int, int]:
    rows = contexts = 0
    started = time.process_time()
    for payload in payloads:
        r, c = python_path(payload, pricer)
        rows += r
        contexts += c
    return time.process_time() - started, rows, contexts


def profile_round(payloads: list[Payload], pricer: Pricer, top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    one_round(payloads, pricer)
    profiler.disable()
    stats = pstats.Stats(profiler)
    calls = {
        name: sum(v[1] for k, v in stats.stats.items() if k[2] == name)  # type: ignore[attr-defined]
        for name in ("<method 'startswith' of 'str' objects>", "<built-in method builtins.any>")
    }
    records = sum(p.records for p in payloads)
    print(f"\nprofile of one round ({records:,} records):")
    for name, n in calls.items():
        print(f"  {name}: {n:,} calls")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print(out.getvalue())


def dump_or_check(dump_path: Path | None, check_path: Path | None) -> int:
    from mapping_corpus import check, dump

    bodies = [(p.signal, p.body) for p in seeder_payloads(7, 20, 1) + log_payloads(2000)]
    if dump_path is not None:
        print(f"{dump(dump_path, bodies):,} lines written to {dump_path}")
        return 0
    assert check_path is not None
    compared, problems = check(check_path, bodies)
    if problems:
        print("\n".join(["output differs:", *problems]))
        return 1
    print(f"identical: {compared:,} lines")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mix", choices=["seeder", "logs", "all"], default="seeder")
    parser.add_argument("--days", type=int, default=7, help="seeder: synthetic days")
    parser.add_argument("--users", type=int, default=20, help="seeder: developers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-records", type=int, default=2000, help="logs: records per harness shape")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="one more round under cProfile")
    parser.add_argument("--top", type=int, default=30, help="profile: functions listed")
    parser.add_argument("--dump", type=Path, help="write the output of the corpus to FILE, then exit")
    parser.add_argument("--check-against", type=Path, help="compare the corpus's output with FILE, then exit")
    args = parser.parse_args()
    if args.dump or args.check_against:
        sys.exit(dump_or_check(args.dump, args.check_against))

    payloads: list[Payload] = []
    if args.mix in ("seeder", "all"):
        payloads += seeder_payloads(args.days, args.users, args.seed)
    if args.mix in ("logs", "all"):
        payloads += log_payloads(args.log_records)
    records = sum(p.records for p in payloads)
    size = sum(len(p.body) for p in payloads)
    pricer = Pricer()
    one_round(payloads, pricer)  # warm-up: price cards, imports, caches

    rates = []
    rows = contexts = 0
    for n in range(args.rounds):
        seconds, rows, contexts = one_round(payloads, pricer)
        rates.append(records / seconds)
        print(f"round {n + 1}: {seconds:.3f} s CPU, {records / seconds:,.0f} spans/s per core")
    print(
        f"mix={args.mix} requests={len(payloads)} records={records:,} bytes={size:,} "
        f"rows={rows:,} contexts={contexts:,} rounds={args.rounds}"
    )
    print(
        f"python path: median {statistics.median(rates):,.0f} spans/s per core, "
        f"best {max(rates):,.0f} spans/s per core (CPU time)"
    )
    if args.profile:
        profile_round(payloads, pricer, args.top)


if __name__ == "__main__":
    main()
