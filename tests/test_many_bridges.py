"""Many bridges, one truth: two real bridges on one database, the same export sent to both.

Hundreds of Claude Code calls (each a `claude_code.llm_request` span without cost and its
`api_request` log event with the reported cost: two records, one call) and OTel GenAI chat
spans are sent concurrently to two `agent-spend serve` processes, over OTLP/HTTP and gRPC,
in several rounds that replay everything in another order. Whatever bridge commits first:
exactly one row per call, the same costs as one bridge given everything once, and rollups
equal to the raw rows (`assert_rollups_exact`, which includes `rollup verify`).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from tests.support.adapters import log, logs, span, traces
from tests.support.bridge_process import BridgeProcess, start_bridge
from tests.support.db import rows, template_copy
from tests.support.otlp import NOW_NS, post
from tests.support.payloads.claude_code import (
    API_REQUEST,
    EVENTS_SCOPE,
    LLM_REQUEST_SPAN,
    RESOURCE,
)
from tests.support.rollups import assert_rollups_exact

CLAUDE_CALLS = 300
CHAT_CALLS = 200
BATCH = 50
ROUNDS = 3
RETRIES = 8  # like an OTLP exporter: a retryable refusal is sent again
TRACE_IDS = [f"{i + 1:032x}" for i in range(20)]
PROTOBUF = "application/x-protobuf"
COMPARED = """
    SELECT dedup_key, source, model, user_id, team, input_tokens, output_tokens, cache_read_tokens,
           cache_write_tokens, reported_cost_usd, list_cost_usd, total_cost_usd, cost_source,
           cost_estimation
    FROM agent_spend_logs ORDER BY dedup_key
"""


def _claude(i: int) -> tuple[Any, Any]:
    """The span (no cost) and the log event (with Claude Code's cost) of one call."""
    request_id = f"req_many_bridges_{i:05d}"
    timing = NOW_NS - i * 1_000_000_000
    usage = {"output_tokens": 845 + i, "request_id": request_id}
    attrs = LLM_REQUEST_SPAN | usage
    trace_id = TRACE_IDS[i % len(TRACE_IDS)]
    span_record = span(
        "claude_code.llm_request", attrs, f"{0xC0DE0000 + i:016x}", trace_id=trace_id, start_ns=timing
    )
    event = log(
        API_REQUEST | usage | {"cost_usd": round(0.03 + i * 0.00001, 8)},
        body="claude_code.api_request",
        time_ns=timing,
    )
    return span_record, event


def _chat(i: int) -> Any:
    attrs = {
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-5",
        "gen_ai.usage.input_tokens": 1000 + i,
        "gen_ai.usage.output_tokens": 10 + i,
        "agent.user.id": f"dev{i % 7}@example.com",
        "agent.user.team": "search",
        "agent.session.id": f"s-{i % 11}",
    }
    return span("chat", attrs, f"{0xAB000000 + i:016x}", trace_id=TRACE_IDS[i % len(TRACE_IDS)])


def exports() -> list[Message]:
    """Every export of the scenario: trace batches and log batches of BATCH records."""
    claude = [_claude(i) for i in range(CLAUDE_CALLS)]
    spans = [s for s, _ in claude] + [_chat(i) for i in range(CHAT_CALLS)]
    random.Random(7).shuffle(spans)  # Claude Code and GenAI spans mixed in every batch
    events = [e for _, e in claude]
    batches: list[Message] = []
    for start in range(0, len(spans), BATCH):
        batch = spans[start : start + BATCH]
        claude_part = [s for s in batch if s.name.startswith("claude_code")]
        other = [s for s in batch if not s.name.startswith("claude_code")]
        request = traces(RESOURCE, claude_part)
        if other:
            request.resource_spans.extend(traces({"service.name": "genai-app"}, other).resource_spans)
        batches.append(request)
    for start in range(0, len(events), BATCH):
        batches.append(logs(RESOURCE, events[start : start + BATCH], scope=EVENTS_SCOPE))
    return batches


class Sender:
    """Sends one export to one bridge, over HTTP/protobuf or gRPC, retrying retryable refusals."""

    def __init__(self) -> None:
        self.refusals: Counter[str] = Counter()
        self._lock = threading.Lock()

    def send(self, bridge: BridgeProcess, export: Message, transport: str) -> None:
        is_logs = isinstance(export, ExportLogsServiceRequest)
        for _ in range(RETRIES):
            if transport == "http":
                path = "/v1/logs" if is_logs else "/v1/traces"
                status, _, body = post(
                    bridge.http_url + path, export.SerializeToString(), content_type=PROTOBUF
                )
                if status == 200:
                    return
                outcome = f"http {status}: {body[:200]!r}"
                retryable = status == 503
            else:
                with grpc.insecure_channel(bridge.grpc) as channel:
                    try:
                        if is_logs:
                            LogsServiceStub(channel).Export(export, timeout=60)
                        else:
                            assert isinstance(export, ExportTraceServiceRequest)
                            TraceServiceStub(channel).Export(export, timeout=60)
                        return
                    except grpc.RpcError as exc:
                        code = exc.code()  # type: ignore[attr-defined]
                        outcome = f"grpc {code.name}: {exc.details()}"  # type: ignore[attr-defined]
                        retryable = code == grpc.StatusCode.UNAVAILABLE
            with self._lock:
                self.refusals[outcome.split(":")[0]] += 1
            assert retryable, outcome
        raise AssertionError(f"not acknowledged after {RETRIES} tries: {outcome}")


@pytest.fixture
def reference_url(server_url: str, template_db: str) -> Iterator[str]:
    """A second migrated database, for the single-bridge reference run."""
    with template_copy(server_url, template_db, "r") as url:
        yield url


def test_two_bridges_store_each_call_once_under_concurrent_duplicate_delivery(
    database_url: str, reference_url: str
) -> None:
    batches = exports()
    calls = CLAUDE_CALLS + CHAT_CALLS

    # The reference: one bridge, every export once, in order.
    single = start_bridge(reference_url)
    try:
        reference_sender = Sender()
        for export in batches:
            reference_sender.send(single, export, "http")
    finally:
        assert single.stop() == 0
    expected = rows(reference_url, COMPARED)
    assert len(expected) == calls
    assert all(r[9] is not None for r in expected if r[1] == "claude-code"), (
        "every Claude Code cost completed"
    )

    # Three writers: a single-process bridge and one of two workers.
    first, second = start_bridge(database_url), start_bridge(database_url, "--workers", "2")
    sender = Sender()
    try:
        for round_ in range(ROUNDS):
            rng = random.Random(round_)
            # Every export to both bridges at once; transports alternate, order shuffled per round.
            tasks = [
                (bridge, export, "grpc" if (i + n + round_) % 2 else "http")
                for i, export in enumerate(batches)
                for n, bridge in enumerate((first, second))
            ]
            rng.shuffle(tasks)
            with ThreadPoolExecutor(8) as pool:
                for future in [pool.submit(sender.send, *task) for task in tasks]:
                    future.result()
    finally:
        codes = (first.stop(), second.stop(timeout=120))
    assert codes == (0, 0), "".join(first.stderr_lines + second.stderr_lines)

    stored = rows(database_url, COMPARED)
    assert len(stored) == calls, "exactly one row per call"
    assert stored == expected, "the same calls and costs as one bridge given everything once"
    assert rows(database_url, "SELECT count(*) FROM call_keys") == [(calls,)]
    assert rows(database_url, "SELECT sum(total_cost_usd) FROM agent_spend_logs") == rows(
        reference_url, "SELECT sum(total_cost_usd) FROM agent_spend_logs"
    )
    with psycopg.connect(database_url) as conn:
        assert_rollups_exact(conn)
    # Retryable refusals (503 / UNAVAILABLE) are allowed, as for any exporter, but are counted:
    # the report of this test names them when there are any.
    print(f"retryable refusals under concurrent delivery: {dict(sender.refusals) or 'none'}")
