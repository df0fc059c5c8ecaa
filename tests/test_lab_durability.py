"""The lab's PostgreSQL keeps what the bridge acknowledged: durable settings, and a kill -9 test."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from bridge.cli import main
from bridge.store.migrate import migrate
from tests.support.bridge_process import start_bridge
from tests.support.crash import Ledger, grpc_exporter, make_spans
from tests.support.db import rows


def _embedded(data_dir: Path, durable: bool = True) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bridge.lab.embedded_db import EmbeddedPostgres
    return EmbeddedPostgres(data_dir, durable=durable)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="agent-spend-durable-"))
    try:
        yield path
    finally:
        _embedded(path).stop()
        shutil.rmtree(path, ignore_errors=True)


def _settings(url: str) -> tuple[str, str, str]:
    with psycopg.connect(url) as conn:
        fsync, commit, fpw = (conn.execute(f"SHOW {name}").fetchone()[0] for name in SETTINGS)  # type: ignore[index]
    return fsync, commit, fpw


SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


@pytest.mark.db
@pytest.mark.e2e
def test_embedded_db_start_is_durable(data_dir: Path) -> None:
    """`agent-spend embedded-db start` (what `make lab` runs) serves with PostgreSQL's safe settings."""
    result = CliRunner().invoke(main, ["embedded-db", "start", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert _settings(result.output.strip()) == ("on", "on", "on")
    # The test suite's throwaway clusters ask for speed explicitly.
    _embedded(data_dir).stop()
    fast = _embedded(data_dir, durable=False).start()
    assert _settings(fast.url()) == ("off", "off", "off")


def _kill_postmaster(server: Any) -> None:
    pid = server.postmaster_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the server this test started, by its pid


def _restart(server: Any, deadline: float) -> None:
    while True:  # its children may still hold the shared memory for a moment
        try:
            server.start()
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.db
def test_acknowledged_spans_survive_a_postgres_kill(data_dir: Path) -> None:
    started = time.monotonic()
    server = _embedded(data_dir).start()
    migrate(server.url())
    bridge = start_bridge(server.url())
    spans = make_spans(1500)
    batches = [spans[i : i + 50] for i in range(0, len(spans), 50)]
    ledger = Ledger()
    killed = threading.Event()
    acked_at_kill: list[int] = []

    def crash_after_some_acks() -> None:
        while len(ledger.acknowledged) < 400 and time.monotonic() - started < 20:
            time.sleep(0.005)
        acked_at_kill.append(len(ledger.acknowledged))
        _kill_postmaster(server)
        killed.set()
        time.sleep(1.0)
        _restart(server, time.monotonic() + 15)

    killer = threading.Thread(target=crash_after_some_acks, daemon=True)
    killer.start()
    try:
        exporter = grpc_exporter(bridge.grpc, timeout=8)
        for batch in batches:  # each batch once: the exporter's own retries ride out the outage
            ledger.export(exporter, batch)
        killer.join(20)
        assert killed.is_set() and not killer.is_alive()
        stored = {r[0] for r in rows(server.url(), "SELECT dedup_key FROM agent_spend_logs")}
        count = rows(server.url(), "SELECT count(*), count(DISTINCT dedup_key) FROM agent_spend_logs")[0]
    finally:
        assert bridge.stop() == 0
    assert ledger.acknowledged, "nothing was acknowledged"
    # The kill came mid-stream, and exports were acknowledged again after the restart.
    assert 400 <= acked_at_kill[0] < len(ledger.acknowledged), (acked_at_kill, len(ledger.acknowledged))
    assert ledger.acknowledged - stored == set(), "acknowledged but lost"
    assert count[0] == count[1] == len(stored)
