"""The writer's direct path (claim keys, COPY the claimed rows into agent_spend_logs) stores
exactly what its staging path (COPY into staging_calls, one INSERT ... SELECT) stores.

The direct path exists for speed (docs/scale.md "Direct writes"); these tests hold it to the
staging path's result on the cases where the two could differ: duplicates inside a batch and
across batches (first copy wins), a call stored earlier at another ts, team from the payload,
from `users`, from a `users` row with no team, and from nobody; a later copy that completes a
reported cost; a batch in which some row waits for its trace context (which takes the staging
path whatever the setting). Each case runs through both writers into two databases cloned
from one template, and every stored column, call_keys and every rollup are compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from bridge.metrics import Metrics
from bridge.model import Identity
from bridge.store.rows import COLUMNS
from bridge.store.writer import BatchWriter, WriteResult
from tests.support.calls import TS, model_call, row_of
from tests.support.db import rows, template_copy
from tests.support.rollups import ROLLUP_TABLES

pytestmark = pytest.mark.db


@pytest.fixture
def two_databases(server_url: str, template_db: str) -> Iterator[tuple[str, str]]:
    with (
        template_copy(server_url, template_db, "direct") as direct,
        template_copy(server_url, template_db, "staged") as staged,
    ):
        for url in (direct, staged):
            with psycopg.connect(url) as conn:
                conn.execute("INSERT INTO teams (team) VALUES ('platform')")
                conn.execute(
                    "INSERT INTO users (user_id, team) VALUES ('dana@example.com', 'platform'),"
                    " ('noteam@example.com', NULL)"
                )
        yield direct, staged


def _write(url: str, direct: bool, batches: list[list[list[tuple[Any, ...]]]]) -> list[list[WriteResult]]:
    """Each batch's submissions queued together (one transaction), batch after batch."""
    writer = BatchWriter(url, Metrics(), direct=direct)
    assert writer._try_connect()
    writer._thread.start()
    results = []
    try:
        for batch in batches:
            futures = [writer.submit("trace", sub, []) for sub in batch]
            results.append([f.result(timeout=30) for f in futures])
    finally:
        writer.stop(30)
    return results


def _stored(url: str) -> dict[str, list[tuple[Any, ...]]]:
    cols = ", ".join(COLUMNS)
    state = {
        "calls": rows(url, f"SELECT {cols} FROM agent_spend_logs ORDER BY dedup_key"),
        "keys": rows(url, "SELECT dedup_key, ts FROM call_keys ORDER BY dedup_key"),
        "verify": rows(url, "SELECT * FROM spend_rollup_verify()"),
    }
    for table in ROLLUP_TABLES:
        state[table] = sorted(rows(url, f"SELECT * FROM {table}"), key=repr)
    return state


def _both(two_databases: tuple[str, str], batches: list[list[list[tuple[Any, ...]]]]) -> dict[str, Any]:
    direct_url, staged_url = two_databases
    direct_results = _write(direct_url, True, batches)
    staged_results = _write(staged_url, False, batches)
    assert direct_results == staged_results
    direct, staged = _stored(direct_url), _stored(staged_url)
    for name in direct:
        assert direct[name] == staged[name], name
    assert direct["verify"] == []
    return direct


def test_duplicates_teams_and_late_copies_store_the_same(two_databases: tuple[str, str]) -> None:
    first = model_call("ana@example.com", identity=Identity(user_id="ana@example.com", team="web"))
    moved = model_call("dana@example.com", identity=Identity(user_id="dana@example.com"))
    later_copy = model_call(dedup_key=moved.dedup_key, ts=TS + timedelta(days=1), input_tokens=999)
    no_team = model_call(identity=Identity(user_id="noteam@example.com"))
    nobody = model_call(identity=Identity(user_id="stranger@example.com"))
    twin = model_call(dedup_key=first.dedup_key, input_tokens=5)  # same key, second in the batch
    batches = [
        [[row_of(first), row_of(moved)], [row_of(twin), row_of(no_team)]],
        [[row_of(later_copy), row_of(nobody), row_of(first)]],
        [[row_of(first)]],  # a replay of a stored call only
    ]
    stored = _both(two_databases, batches)
    by_key = {row[0]: row for row in stored["calls"]}
    team, ts, tokens = (COLUMNS.index(c) for c in ("team", "ts", "input_tokens"))
    assert len(by_key) == 4
    assert by_key[first.dedup_key][team] == "web"
    assert by_key[first.dedup_key][tokens] == 100  # the first copy, not its twin
    assert by_key[moved.dedup_key][team] == "platform"
    assert by_key[moved.dedup_key][ts] == TS  # the later copy at another ts added nothing
    assert by_key[no_team.dedup_key][team] == "unknown"
    assert by_key[nobody.dedup_key][team] == "unknown"


def test_a_later_copy_completes_the_reported_cost_on_both_paths(two_databases: tuple[str, str]) -> None:
    span = model_call("ana@example.com")
    event = model_call(dedup_key=span.dedup_key, reported=Decimal("0.000450"))
    batches = [[[row_of(span)]], [[row_of(event)]], [[row_of(span), row_of(event)]]]
    stored = _both(two_databases, batches)
    reported = COLUMNS.index("reported_cost_usd")
    assert [row[reported] for row in stored["calls"]] == [Decimal("0.000450")]


def test_a_call_waiting_for_context_takes_the_staging_path(two_databases: tuple[str, str]) -> None:
    parent = model_call(
        identity=Identity(user_id="ana@example.com", session_id="s-1", workspace_repo="acme/web")
    )
    child = model_call(
        identity=Identity(user_id=None),
        trace_id=parent.trace_id,
        parent_span_id=parent.span_id,
    )
    plain = model_call("dana@example.com", identity=Identity(user_id="dana@example.com"))
    batches = [[[row_of(child), row_of(plain)]], [[row_of(parent)]]]
    direct_url, staged_url = two_databases
    stored = _both(two_databases, batches)
    assert len(stored["calls"]) == 3
    for url in (direct_url, staged_url):
        assert rows(url, "SELECT dedup_key FROM trace_waiting") == [(child.dedup_key,)]
