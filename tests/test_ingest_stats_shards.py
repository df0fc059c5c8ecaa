"""Writers do not queue behind each other's commits on the ingest stats row (migration 0013).

Every writer's transaction ends with the per-minute ingest_stats upsert. With one row per
(minute, signal), a second writer waited there until the first committed: one commit at a
time across every worker and bridge. Each writer now upserts its own shard (backend pid
modulo 16) and the view ingest_summary sums the shards, so the counts read the same.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from bridge.store.call_statements import UPSERT_STATS
from tests.support.db import rows

MINUTE = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _shard(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT pg_backend_pid() % 16").fetchone()
    assert row is not None
    return int(row[0])


def _two_shards(url: str) -> tuple[psycopg.Connection, psycopg.Connection]:
    """Two connections whose writers fall in different shards (new ones until they do)."""
    first = psycopg.connect(url)
    for _ in range(64):
        second = psycopg.connect(url)
        if _shard(second) != _shard(first):
            first.rollback()
            second.rollback()
            return first, second
        second.close()
    pytest.fail("64 connections in one shard")


def test_a_second_writer_does_not_wait_for_the_first_ones_commit(database_url: str) -> None:
    first, second = _two_shards(database_url)
    with first, second:
        first.execute(UPSERT_STATS, (MINUTE, "trace", 10, 8, 2, 0))  # holds its row until commit
        second.execute("SET lock_timeout = '2s'")
        second.execute(UPSERT_STATS, (MINUTE, "trace", 5, 5, 0, 1))  # before 0013: lock timeout
        second.commit()
        first.commit()
    assert rows(database_url, "SELECT count(*) FROM ingest_stats") == [(2,)]
    summary = "SELECT bucket, signal, records_received, rows_written, duplicates_skipped, rejected"
    assert rows(database_url, f"{summary} FROM ingest_summary") == [(MINUTE, "trace", 15, 13, 2, 1)]


def test_one_writer_adds_to_its_own_row(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(3):
            conn.execute(UPSERT_STATS, (MINUTE, "log", 4, 3, 1, 0))
    assert rows(database_url, "SELECT count(*) FROM ingest_stats") == [(1,)]
    assert rows(database_url, "SELECT records_received, rows_written FROM ingest_summary") == [(12, 9)]
