"""Drop old raw rows while the rollups keep their history (`agent-spend retention`).

Raw rows are the expensive part of the database; the dashboards read rollups for anything
older than a few days. Retention therefore deletes raw rows before a horizon without
subtracting them from the rollups: each batch runs with `agent_spend.retention = on`,
which the delete trigger honours by skipping the subtraction (and archiving the rows'
session totals instead), and refuses for any row not before the recorded horizon. The
horizon is recorded first, in its own transaction, so `rollup verify` never compares a
bucket whose raw rows are partly gone, even if this command is interrupted. The command's
options live in bridge/cli/retention.py.
"""

from __future__ import annotations

import re
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
# Oldest first through the ts index; ids keep each batch's DELETE a cheap primary-key probe.
DELETE_BATCH = """
    DELETE FROM agent_spend_logs
    WHERE id IN (SELECT id FROM agent_spend_logs WHERE ts < %s ORDER BY ts LIMIT %s)
"""


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
    deleted: int
    batches: int
    dry_run: bool


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
) -> RetentionResult:
    """Delete raw rows before `horizon` (rounded down to a UTC day) in committed batches.

    Switches `conn` (which must be idle) to autocommit: every batch is its own transaction,
    so locks and the delete's WAL stay small and an interruption keeps what was done.
    """
    conn.autocommit = True
    row = conn.execute(ALIGN, (horizon,)).fetchone()
    assert row is not None
    horizon = row[0]
    if dry_run:
        counted = conn.execute("SELECT count(*) FROM agent_spend_logs WHERE ts < %s", (horizon,)).fetchone()
        return RetentionResult(horizon, None, counted[0] if counted else 0, 0, True)
    with conn.transaction():
        recorded = conn.execute(RECORD, (horizon,)).fetchone()
    deleted = batches = 0
    while True:
        with conn.transaction():
            conn.execute("SET LOCAL agent_spend.retention = 'on'")
            count = conn.execute(DELETE_BATCH, (horizon, batch_size)).rowcount
        deleted += count
        batches += 1
        if on_batch:
            on_batch(count)
        if count < batch_size:
            break
    return RetentionResult(horizon, recorded[0] if recorded else None, deleted, batches, False)
