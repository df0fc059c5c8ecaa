"""`serve --workers N`: N receiver processes on shared ports, one bridge to the outside.

Both ports are held by every worker; a second, separately started bridge on either port fails
loudly whatever its worker count; SIGTERM drains every worker (acknowledged = committed, exit
0); /metrics is aggregated over the workers; a crashed worker is restarted; workers never
outlive their supervisor.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from bridge.receive.decode import decode_json
from tests.support.bridge_process import (
    listening_ports,
    metric,
    start_bridge,
    worker_pids,
)
from tests.support.db import rows
from tests.support.otlp import chat_traces, get, post
from tests.support.paths import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers need SO_REUSEPORT")

TRACE = "0af7651916cd43dd8448eb211c80319c"


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _count(database_url: str) -> int:
    count: int = rows(database_url, "SELECT count(*) FROM agent_spend_logs")[0][0]
    return count


def _grpc_request(n: int, offset: int) -> ExportTraceServiceRequest:
    return decode_json(json.dumps(chat_traces(n, TRACE, offset=offset)).encode(), ExportTraceServiceRequest)


def _serve(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "serve", "--database-url", database_url, *args],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
    )


def test_workers_hold_both_ports_and_every_export_is_committed_once(database_url: str) -> None:
    bridge = start_bridge(database_url, "--workers", "2")
    try:
        pids = worker_pids(bridge)
        assert len(pids) == 2
        ports = {_port(bridge.grpc), _port(bridge.http)}
        for pid in pids:
            assert ports <= listening_ports(pid), f"worker {pid} does not listen on both ports"
        assert not ports & listening_ports(bridge.process.pid), "the supervisor serves nothing itself"

        def http(i: int) -> int:
            return post(f"{bridge.http_url}/v1/traces", chat_traces(50, TRACE, offset=i * 50))[0]

        def over_grpc(i: int) -> None:
            with grpc.insecure_channel(bridge.grpc) as channel:  # a new connection each time
                TraceServiceStub(channel).Export(_grpc_request(50, 100_000 + i * 50), timeout=30)

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(http, range(40)))
            list(pool.map(over_grpc, range(20)))
            replays = list(pool.map(http, range(40)))  # every export again, through any worker
        assert statuses == replays == [200] * 40
        assert _count(database_url) == 60 * 50

        # Aggregated over the workers, whichever worker answers (a new connection each time).
        for _ in range(4):
            status, body = get(f"{bridge.http_url}/metrics")
            text = body.decode()
            assert status == 200
            assert metric(text, "agent_spend_workers") == 2
            assert metric(text, "agent_spend_rows_written_total") == 60 * 50
            assert metric(text, "agent_spend_duplicates_skipped_total") == 40 * 50
            assert metric(text, "agent_spend_database_up") == 1
    finally:
        assert bridge.stop(timeout=120) == 0, "".join(bridge.stderr_lines)


def test_sigterm_drains_every_worker(database_url: str) -> None:
    bridge = start_bridge(database_url, "--workers", "2")
    pids = worker_pids(bridge)
    answers: list[int] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        status = post(f"{bridge.http_url}/v1/traces", chat_traces(3000, TRACE, offset=i * 3000))[0]
        with lock:
            answers.append(status)

    senders = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for sender in senders:
        sender.start()
    time.sleep(0.5)  # the exports are being read, mapped or written by both workers
    assert bridge.stop(timeout=120) == 0, "".join(bridge.stderr_lines)
    for sender in senders:
        sender.join(60)
    # Every export that reached a worker before SIGTERM is answered after its commit; one that
    # arrived after the listeners closed was refused (a connection error), never half-stored.
    assert answers.count(200) * 3000 == _count(database_url)
    assert answers.count(200) >= 1
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in _state(pid)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(line for line in status if line.startswith("State:")).lower()
    except OSError:
        return "gone"


@pytest.mark.parametrize("second_workers", ["1", "2"])
def test_a_second_bridge_on_the_ports_of_a_workers_bridge_fails_loudly(
    database_url: str, second_workers: str
) -> None:
    first = start_bridge(database_url, "--workers", "2")
    try:
        grpc_port, http_port = str(_port(first.grpc)), str(_port(first.http))
        for args in (
            ["--grpc-port", grpc_port, "--http-port", "0"],
            ["--grpc-port", "0", "--http-port", http_port],
        ):
            second = _serve(database_url, "--workers", second_workers, *args)
            assert second.returncode == 1, second.stderr
            assert "cannot listen for OTLP/" in second.stderr and "Traceback" not in second.stderr
            assert "in use" in second.stderr or "another bridge" in second.stderr
        assert post(f"{first.http_url}/v1/traces", chat_traces(1, TRACE))[0] == 200
        assert len(worker_pids(first)) == 2
    finally:
        assert first.stop(timeout=120) == 0


def test_a_workers_bridge_on_the_ports_of_a_single_bridge_fails_loudly(database_url: str) -> None:
    first = start_bridge(database_url)  # one process
    try:
        for args in (
            ["--grpc-port", str(_port(first.grpc)), "--http-port", "0"],
            ["--grpc-port", "0", "--http-port", str(_port(first.http))],
        ):
            second = _serve(database_url, "--workers", "2", *args)
            assert second.returncode == 1
            assert "cannot listen for OTLP/" in second.stderr and "Traceback" not in second.stderr
        assert post(f"{first.http_url}/v1/traces", chat_traces(1, TRACE))[0] == 200
    finally:
        assert first.stop() == 0


def test_a_crashed_worker_is_restarted(database_url: str) -> None:
    bridge = start_bridge(database_url, "--workers", "2")
    try:
        victim = worker_pids(bridge)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not any("restarted" in line for line in bridge.stderr_lines):  # the replacement is ready
            assert time.monotonic() < deadline, "".join(bridge.stderr_lines)
            time.sleep(0.3)
        pids = worker_pids(bridge)
        assert len(pids) == 2 and victim not in pids
        text = get(f"{bridge.http_url}/metrics")[1].decode()
        assert metric(text, "agent_spend_workers") == 2
        assert metric(text, "agent_spend_worker_restarts") == 1
        for i in range(10):
            assert post(f"{bridge.http_url}/v1/traces", chat_traces(10, TRACE, offset=i * 10))[0] == 200
        assert _count(database_url) == 100
    finally:
        assert bridge.stop(timeout=120) == 0, "".join(bridge.stderr_lines)


def test_workers_do_not_outlive_their_supervisor(database_url: str) -> None:
    bridge = start_bridge(database_url, "--workers", "2")
    pids = worker_pids(bridge)
    bridge.process.kill()  # SIGKILL: the supervisor cannot forward anything
    bridge.process.wait(10)
    deadline = time.monotonic() + 60
    while any(_state(pid) not in ("gone",) and "zombie" not in _state(pid) for pid in pids):
        assert time.monotonic() < deadline, "workers outlived the supervisor"
        time.sleep(0.3)
