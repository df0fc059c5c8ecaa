"""Crashes mid-stream: acknowledged means committed, and resending never counts twice.

The bridge is killed with SIGKILL twice while 5,000 spans stream in over gRPC and HTTP through
the real SDK exporters; the sender resends every batch that was not acknowledged to a fresh
bridge, as an exporter would. The database outage case is in tests/test_lifecycle.py
(`test_database_outage_answers_retryably_then_recovers`) and, with a kill -9 of PostgreSQL,
tests/test_lab_durability.py.
"""

from __future__ import annotations

import threading
import time

from tests.support.bridge_process import BridgeProcess, start_bridge
from tests.support.crash import Ledger, grpc_exporter, http_exporter, make_spans
from tests.support.db import rows

SPANS = 5000
BATCH = 100
KILL_AFTER = (1200, 3000)  # acknowledged spans before each SIGKILL


def test_bridge_killed_twice_mid_stream_loses_and_doubles_nothing(database_url: str) -> None:
    started = time.monotonic()
    spans = make_spans(SPANS)
    batches = [spans[i : i + BATCH] for i in range(0, SPANS, BATCH)]
    ledger = Ledger()
    current: list[BridgeProcess] = [start_bridge(database_url)]
    kills: list[int] = []
    acked_at_kill: list[int] = []
    restarted = threading.Event()

    def kill_twice() -> None:
        for threshold in KILL_AFTER:
            while len(ledger.acknowledged) < threshold and time.monotonic() - started < 25:
                time.sleep(0.002)
            victim = current[-1]
            acked_at_kill.append(len(ledger.acknowledged))
            victim.process.kill()  # SIGKILL to the bridge this test started
            victim.process.wait(10)
            kills.append(victim.process.returncode)
            current.append(start_bridge(database_url))
        restarted.set()

    killer = threading.Thread(target=kill_twice, daemon=True)
    killer.start()
    try:
        for index, batch in enumerate(batches):
            while time.monotonic() - started < 28:
                bridge = current[-1]
                exporter = (
                    grpc_exporter(bridge.grpc, timeout=2)
                    if index % 2 == 0
                    else http_exporter(bridge.http, timeout=2)
                )
                try:
                    if ledger.export(exporter, batch):
                        break
                finally:
                    exporter.shutdown()
                time.sleep(0.05)  # not acknowledged: resend, to whichever bridge is up now
        killer.join(10)
        assert restarted.is_set() and kills == [-9, -9]
        # Each kill came mid-stream: after its threshold, before the last span was acknowledged.
        assert all(t <= n < SPANS for t, n in zip(KILL_AFTER, acked_at_kill, strict=True)), acked_at_kill
        stored = {r[0] for r in rows(database_url, "SELECT dedup_key FROM agent_spend_logs")}
        count = rows(database_url, "SELECT count(*), count(DISTINCT dedup_key) FROM agent_spend_logs")[0]
    finally:
        assert current[-1].stop() == 0
        for bridge in current[:-1]:
            if bridge.process.poll() is None:
                bridge.process.kill()
    assert len(ledger.acknowledged) == SPANS, f"{SPANS - len(ledger.acknowledged)} spans never acknowledged"
    assert ledger.acknowledged - stored == set(), "acknowledged but lost"
    assert count == (SPANS, SPANS), "every span stored exactly once"
