"""Drop old raw rows while the rollups keep their history (`agent-spend retention`).

Raw rows are the expensive part of the database; the dashboards read rollups for anything
older than a few days. agent_spend_logs is partitioned by UTC day (migration 0012), and the
horizon is a UTC midnight, so retention drops whole day partitions: each is detached, its
calls' session figures are added to session_archive (as the delete trigger does for deleted
rows), and it is dropped (`spend_partition_retire`), one transaction each: seconds, no dead
tuples, nothing subtracted from the rollups. Rows before the horizon in the default partition
(late calls of days without a partition) are then deleted in batches with
`agent_spend.retention = on`, which the delete trigger honours by skipping the subtraction
(and archiving the rows' session totals instead); it refuses for any row not before the
recorded horizon. The horizon is recorded first, in its own transaction, so `rollup verify`
never compares a bucket whose raw rows are partly gone, even if this command is interrupted.
Last, the keys of pruned calls older than the horizon minus `spend_key_grace()` leave
call_keys (until then a replay of a pruned call is still a duplicate), and the per-minute
ingest accounting before the horizon (`ingest_stats`, one row per minute, signal and writer
shard, and `ingest_rejections`) goes like the raw rows it counted. The command's options live
in bridge/cli/retention.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from bridge import config

_AGE = re.compile(r"^\s*(\d+)\s*([dw])\s*$")

ALIGN = "SELECT date_trunc('day', %s::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
HORIZON_FROM_AGE = "SELECT date_trunc('day', (now() - %s::interval) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
RECORD = """
    INSERT INTO retention_state (horizon) VALUES (%s)
    ON CONFLICT (singleton) DO UPDATE
        SET horizon = greatest(retention_state.horizon, EXCLUDED.horizon), updated_at = now()
    RETURNING horizon
"""
# Day partitions wholly before the horizon, oldest first.
RETIRABLE = "SELECT partition FROM spend_partitions() WHERE upper_bound <= %s ORDER BY lower_bound"
RETIRE = "SELECT spend_partition_retire(%s)"
# Oldest first through the ts index; (id, ts) keeps each batch's DELETE a cheap primary-key
# probe in the partitions before the horizon (after the drops, the default one).
DELETE_BATCH = """
    DELETE FROM agent_spend_logs
    WHERE ts < %(horizon)s
      AND (id, ts) IN (SELECT id, ts FROM agent_spend_logs WHERE ts < %(horizon)s ORDER BY ts LIMIT %(limit)s)
"""
PRUNE_KEYS = """
    DELETE FROM call_keys
    WHERE dedup_key IN (SELECT dedup_key FROM call_keys WHERE ts < %s - spend_key_grace() LIMIT %s)
"""
# Per-minute ingest accounting before the horizon: small rows, one statement per table.
PRUNE_ACCOUNTING = (
    "DELETE FROM ingest_stats WHERE bucket < %s",
    "DELETE FROM ingest_rejections WHERE bucket < %s",
)
# DETACH PARTITION takes an ACCESS EXCLUSIVE lock on agent_spend_logs for an instant; waiting
# behind a long query would hold up the bridge's writes, so give up quickly and retry.
LOCK_TIMEOUT = "SET LOCAL lock_timeout = '5s'"
LOCK_ATTEMPTS = 6


def parse_age(text: str) -> timedelta:
    """`90d` or `12w`; whole days, because the horizon is a UTC day boundary anyway."""
    match = _AGE.match(text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"expected a positive age like 90d or 12w, got {text!r}")
    count, unit = int(match.group(1)), match.group(2)
    return timedelta(days=count * (7 if unit == "w" else 1))


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What one retention run deleted (or, on a dry run, would delete) and the horizon it left."""

    horizon: datetime  # rows before this were (or, dry run, would be) deleted
    recorded_horizon: datetime | None  # retention_state after the run; None on a dry run
    deleted: int  # rows dropped with their partitions plus rows deleted in batches
    batches: int  # DELETE transactions (of rows outside day partitions)
    dry_run: bool
    partitions: int = 0  # day partitions dropped whole (dry run: that would be)
    keys_pruned: int = 0  # call_keys of pruned calls past the grace
    accounting_pruned: int = 0  # ingest_stats and ingest_rejections rows before the horizon


def horizon_for_age(conn: psycopg.Connection[Any], age: timedelta) -> datetime:
    """The database's clock, not ours: the horizon must agree with the rows' timestamps."""
    row = conn.execute(HORIZON_FROM_AGE, (age,)).fetchone()
    conn.commit()
    assert row is not None
    horizon: datetime = row[0]
    return horizon


def apply_retention(
    conn: psycopg.Connection[Any],
    horizon: datetime,
    *,
    batch_size: int = config.RETENTION_BATCH_ROWS,
    dry_run: bool = False,
    on_batch: Callable[[int], None] | None = None,
    on_partition: Callable[[str, int], None] | None = None,
) -> RetentionResult:
    """Drop the day partitions before `horizon` (rounded down to a UTC day), then delete the
    remaining raw rows before it in committed batches, then prune old call_keys.

    Switches `conn` (which must be idle) to autocommit: every partition and every batch is
    its own transaction, so locks and WAL stay small and an interruption keeps what was done.
    """
    conn.autocommit = True
    row = conn.execute(ALIGN, (horizon,)).fetchone()
    assert row is not None
    horizon = row[0]
    if dry_run:
        counted = conn.execute("SELECT count(*) FROM agent_spend_logs WHERE ts < %s", (horizon,)).fetchone()
        retirable = conn.execute(RETIRABLE, (horizon,)).fetchall() if _partitioned(conn) else []
        return RetentionResult(horizon, None, counted[0] if counted else 0, 0, True, len(retirable))
    with conn.transaction():
        recorded = conn.execute(RECORD, (horizon,)).fetchone()
    deleted = batches = partitions = 0
    partitioned = _partitioned(conn)
    for (name,) in conn.execute(RETIRABLE, (horizon,)).fetchall() if partitioned else []:
        dropped = _retire(conn, name)
        deleted += dropped
        partitions += 1
        if on_partition:
            on_partition(name, dropped)
    while True:
        with conn.transaction():
            conn.execute("SET LOCAL agent_spend.retention = 'on'")
            count = conn.execute(DELETE_BATCH, {"horizon": horizon, "limit": batch_size}).rowcount
        deleted += count
        batches += 1
        if on_batch:
            on_batch(count)
        if count < batch_size:
            break
    keys = 0
    while partitioned:
        with conn.transaction():
            pruned = conn.execute(PRUNE_KEYS, (horizon, batch_size)).rowcount
        keys += pruned
        if pruned < batch_size:
            break
    accounting = 0
    for statement in PRUNE_ACCOUNTING:
        with conn.transaction():
            accounting += conn.execute(statement, (horizon,)).rowcount
    return RetentionResult(
        horizon, recorded[0] if recorded else None, deleted, batches, False, partitions, keys, accounting
    )


def _partitioned(conn: psycopg.Connection[Any]) -> bool:
    """Migration 0012 applied? (Tests of older releases run retention on their databases.)"""
    row = conn.execute("SELECT to_regprocedure('spend_partitions()') IS NOT NULL").fetchone()
    return bool(row and row[0])


def _retire(conn: psycopg.Connection[Any], partition: str) -> int:
    """One partition in one transaction, retried when the instant lock is not granted in time."""
    for attempt in range(LOCK_ATTEMPTS):
        try:
            with conn.transaction():
                conn.execute(LOCK_TIMEOUT)
                row = conn.execute(RETIRE, (partition,)).fetchone()
            return int(row[0]) if row else 0
        except psycopg.errors.LockNotAvailable:
            if attempt == LOCK_ATTEMPTS - 1:
                raise
            time.sleep(1 + attempt)
    raise AssertionError("unreachable")
