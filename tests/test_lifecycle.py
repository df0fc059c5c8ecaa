"""Back-pressure, database outages, shutdown and migrations: acknowledged means committed."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from click.testing import CliRunner
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from bridge.cli import main
from bridge.receive.decode import decode_json
from bridge.store.migrate import available, migrate
from tests.support.bridge_process import start_bridge
from tests.support.db import rows
from tests.support.otlp import chat_traces, get, post

TRACE = "0af7651916cd43dd8448eb211c80319c"


def spans(n: int, offset: int = 0) -> dict[str, Any]:
    return chat_traces(n, TRACE, offset=offset, service="t")


@pytest.fixture
def own_postgres() -> Iterator[object]:
    """A PostgreSQL server of this test's own, so the test can stop and restart it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bridge.lab.embedded_db import EmbeddedPostgres
    data_dir = Path(tempfile.mkdtemp(prefix="agent-spend-outage-"))
    server = EmbeddedPostgres(data_dir).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.mark.db  # own_postgres: a server of its own
def test_database_outage_answers_retryably_then_recovers(own_postgres) -> None:  # type: ignore[no-untyped-def]
    url = own_postgres.url()
    migrate(url)
    bridge = start_bridge(url)
    try:
        assert post(f"{bridge.http_url}/v1/traces", spans(1))[0] == 200
        own_postgres.stop()
        status, headers, payload = post(f"{bridge.http_url}/v1/traces", spans(1, offset=100))
        assert status == 503 and headers["Retry-After"].isdigit()
        assert "database" in json.loads(payload)["message"]
        status, _ = get(f"{bridge.http_url}/readyz")
        assert status == 503
        request = decode_json(json.dumps(spans(1, offset=200)).encode(), ExportTraceServiceRequest)
        with grpc.insecure_channel(bridge.grpc) as channel, pytest.raises(grpc.RpcError) as error:
            TraceServiceStub(channel).Export(request, timeout=10)
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        own_postgres.start()
        deadline = time.monotonic() + 20
        while (status := post(f"{bridge.http_url}/v1/traces", spans(1, offset=100))[0]) != 200:
            assert status == 503 and time.monotonic() < deadline
            time.sleep(0.3)
        assert rows(url, "SELECT count(*) FROM agent_spend_logs") == [(2,)]
    finally:
        assert bridge.stop() == 0


def test_export_larger_than_the_queue_is_committed_in_chunks(database_url: str) -> None:
    """More rows than --max-queue-rows could once never succeed (503 forever); now it is split."""
    bridge = start_bridge(database_url, "--max-queue-rows", "2")
    try:
        status, _headers, payload = post(f"{bridge.http_url}/v1/traces", spans(5))
        assert status == 200 and json.loads(payload) == {}
        assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(5,)]
        assert post(f"{bridge.http_url}/v1/traces", spans(5))[0] == 200  # a retry adds nothing
        assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(5,)]
    finally:
        assert bridge.stop() == 0


def test_sigterm_drains_in_flight_requests(database_url: str) -> None:
    bridge = start_bridge(database_url)
    results: list[int] = []
    body = spans(5000)
    sender = threading.Thread(target=lambda: results.append(post(f"{bridge.http_url}/v1/traces", body)[0]))
    sender.start()
    time.sleep(0.3)
    assert bridge.stop() == 0
    sender.join(30)
    stored = rows(database_url, "SELECT count(*) FROM agent_spend_logs")[0][0]
    # SIGTERM arrived while the request was being mapped or written: it was still answered,
    # and only after its rows were committed.
    assert results == [200]
    assert stored == 5000


def test_readyz_reports_pending_migrations(empty_database_url: str) -> None:
    bridge = start_bridge(empty_database_url)
    try:
        status, text = get(f"{bridge.http_url}/readyz")
        assert status == 503 and b"migrations pending" in text
    finally:
        assert bridge.stop() == 0


def test_migrate_is_idempotent_and_concurrency_safe(empty_database_url: str) -> None:
    errors: list[BaseException] = []
    applied: list[list[str]] = []

    def run() -> None:
        try:
            applied.append(migrate(empty_database_url))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    versions = [m.version for m in available()]
    assert sorted(applied, key=len) == [[], [], [], versions]
    result = CliRunner().invoke(main, ["migrate"], env={"AGENT_SPEND_DATABASE_URL": empty_database_url})
    assert result.exit_code == 0 and "up to date" in result.output
    with psycopg.connect(empty_database_url) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")] == versions


def test_migrate_before_a_version_leaves_the_database_as_an_older_release(empty_database_url: str) -> None:
    versions = [m.version for m in available()]
    stop = versions[4]
    assert migrate(empty_database_url, before=stop) == versions[:4]
    with psycopg.connect(empty_database_url) as conn:
        recorded = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert recorded == versions[:4]
    assert migrate(empty_database_url) == versions[4:]  # the rest, in order


def test_edited_migration_is_refused(empty_database_url: str) -> None:
    migrate(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        conn.execute(
            "UPDATE schema_migrations SET checksum = 'x' WHERE version = %s", (available()[0].version,)
        )
    result = CliRunner().invoke(main, ["migrate", "--database-url", empty_database_url])
    assert result.exit_code != 0 and "changed after it was applied" in result.output


def test_serve_requires_a_database_url() -> None:
    result = CliRunner().invoke(main, ["serve"], env={"AGENT_SPEND_DATABASE_URL": ""})
    assert result.exit_code == 2 and "--database-url" in result.output


def test_second_bridge_on_the_same_ports_fails_clearly(database_url: str) -> None:
    """gRPC would share a port through SO_REUSEPORT; the bridge turns that off and says why."""
    import subprocess
    import sys

    first = start_bridge(database_url)
    try:
        grpc_port = first.grpc.rsplit(":", 1)[1]
        http_port = first.http.rsplit(":", 1)[1]
        for args in (
            ["--grpc-port", grpc_port, "--http-port", "0"],
            ["--grpc-port", "0", "--http-port", http_port],
        ):
            second = subprocess.run(
                [sys.executable, "-m", "bridge", "serve", "--database-url", database_url, *args],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode == 1
            assert "cannot listen for OTLP/" in second.stderr and "Traceback" not in second.stderr
        assert post(f"{first.http_url}/v1/traces", spans(1))[0] == 200
    finally:
        assert first.stop() == 0
