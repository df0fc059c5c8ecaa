"""The in-flight memory budget shared by both transports, and exports split into committed chunks."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bridge.errors import Overloaded, PayloadTooLarge
from bridge.receive.decode import decode_json
from bridge.receive.export import InflightBudget, split_logs, split_traces
from tests.support.bridge_process import start_bridge
from tests.support.db import rows
from tests.support.otlp import chat_traces, get, json_log, json_logs, post

TRACE = "5bf92f3577b34da6a3ce929d0e0e4736"
MIB = 1024 * 1024


def spans(n: int, offset: int = 0, pad: int = 0) -> dict[str, Any]:
    return chat_traces(n, TRACE, offset=offset, service="budget", pad=pad)


def traces_pb(n: int, offset: int = 0, pad: int = 0) -> ExportTraceServiceRequest:
    return decode_json(json.dumps(spans(n, offset, pad)).encode(), ExportTraceServiceRequest)


@pytest.mark.unit
def test_budget_waits_then_refuses_and_never_admits_the_impossible() -> None:
    budget = InflightBudget(10, wait=0.05)
    first = budget.reserve(6)
    with pytest.raises(Overloaded):
        budget.reserve(6)
    with pytest.raises(PayloadTooLarge, match="in-flight memory budget"):
        budget.reserve(11)
    released = threading.Timer(0.05, first.release)
    released.start()
    with budget.reserve(6, wait=5) as second:
        assert budget.used == 6
        second.resize(2)
        assert budget.used == 2
    assert budget.used == 0
    # Growing by 3 would fit the free space; a request of 11 never fits: refused for good,
    # not "busy" (a retryable answer the exporter would repeat forever).
    with budget.reserve(8) as third, pytest.raises(PayloadTooLarge):
        third.resize(11)
    assert budget.used == 0


@pytest.mark.unit
def test_split_keeps_every_record_once_with_its_resource() -> None:
    request = ExportTraceServiceRequest()
    for part in (traces_pb(7), traces_pb(5, offset=100)):
        request.MergeFrom(part)
    chunks = list(split_traces(request, 3))
    assert [sum(len(ss.spans) for rs in c.resource_spans for ss in rs.scope_spans) for c in chunks] == [
        3,
        3,
        3,
        3,
    ]
    ids = [s.span_id for c in chunks for rs in c.resource_spans for ss in rs.scope_spans for s in ss.spans]
    original = [s.span_id for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert ids == original
    assert all(rs.resource == request.resource_spans[0].resource for c in chunks for rs in c.resource_spans)
    assert list(split_traces(request, 100)) == [request]
    logs = decode_json(
        json.dumps(json_logs({"service.name": "x"}, [json_log({"a": i}) for i in range(5)])).encode(),
        ExportLogsServiceRequest,
    )
    assert [len(c.resource_logs[0].scope_logs[0].log_records) for c in split_logs(logs, 2)] == [2, 2, 1]


def test_a_request_larger_than_the_budget_is_refused_for_good(database_url: str) -> None:
    bridge = start_bridge(database_url, "--max-inflight-mib", "1")
    try:
        body = json.dumps(spans(4, pad=600_000)).encode()  # ~2.4 MB decoded
        status, headers, payload = post(f"{bridge.http_url}/v1/traces", body)
        assert status == 413 and "Retry-After" not in headers
        assert "--max-inflight-mib" in json.loads(payload)["message"]
        with grpc.insecure_channel(bridge.grpc) as channel:
            export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
            with pytest.raises(grpc.RpcError) as caught:
                export(traces_pb(4, pad=600_000).SerializeToString(), timeout=30)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "--max-inflight-mib" in (caught.value.details() or "")
        assert post(f"{bridge.http_url}/v1/traces", spans(2))[0] == 200
    finally:
        assert bridge.stop() == 0


def test_concurrent_large_exports_stay_under_the_budget(database_url: str) -> None:
    """8 concurrent ~3 MB exports against a 8 MiB budget: the gauge never exceeds it; all answered."""
    bridge = start_bridge(database_url, "--max-inflight-mib", "8")
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            _status, text = get(f"{bridge.http_url}/metrics")
            found = re.search(rb"^agent_spend_inflight_bytes (\S+)$", text, re.M)
            assert found is not None
            peak[0] = max(peak[0], float(found.group(1)))
            time.sleep(0.01)

    statuses: list[int] = []

    def send(i: int) -> None:
        body = traces_pb(300, offset=i * 1000, pad=10_000).SerializeToString()
        statuses.append(post(f"{bridge.http_url}/v1/traces", body, "application/x-protobuf")[0])

    try:
        sampler = threading.Thread(target=sample)
        sampler.start()
        senders = [threading.Thread(target=send, args=(i,)) for i in range(8)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(120)
        done.set()
        sampler.join(10)
        assert len(statuses) == 8 and set(statuses) <= {200, 503} and 200 in statuses, statuses
        assert 0 < peak[0] <= 8 * MIB, peak
        _status, text = get(f"{bridge.http_url}/metrics")
        assert re.search(rb"^agent_spend_inflight_bytes 0\.0$", text, re.M)
        assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(300 * statuses.count(200),)]
    finally:
        done.set()
        assert bridge.stop() == 0


def test_an_export_larger_than_the_queue_is_committed_in_chunks_over_grpc(database_url: str) -> None:
    bridge = start_bridge(database_url, "--max-queue-rows", "10")
    try:
        with grpc.insecure_channel(bridge.grpc) as channel:
            export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
            export(traces_pb(45).SerializeToString(), timeout=30)
        assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(45,)]
    finally:
        assert bridge.stop() == 0
