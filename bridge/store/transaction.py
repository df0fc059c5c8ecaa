"""One write transaction of the batching writer: the span contexts, the calls and the stats of
one or more requests, committed together (bridge/store/writer.py runs it on its thread).

The order inside the transaction is the one call_statements.py and trace_context.py document:
span contexts first (so a call of the same batch finds its parents), then the calls, either
straight into agent_spend_logs after claiming their keys (`insert_direct`, the common case) or
through the staging table when a call waits for its trace context or may complete a stored
call's reported cost; then the traces whose context just arrived are completed, and last the
per-minute ingest stats and rejections. A transaction PostgreSQL aborts to break a deadlock or
a serialization conflict with another writer rolled back whole, so `write_retrying` runs it
again instead of reporting the database down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from bridge import config
from bridge.store.call_statements import (
    COMPLETE_FROM_STAGING,
    INSERT_FROM_STAGING,
    PARENT,
    UPSERT_REJECTION,
    UPSERT_STATS,
    Refusal,
    ingest_stats,
    insert_direct,
    may_complete,
    stage_calls,
)
from bridge.store.trace_context import (
    COMPLETE_TRACES,
    CONTEXT_COLS,
    FILL_STAGING,
    INSERT_SPANS,
    INSERT_WAITING,
    lacks_key_identity,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Part:
    """What one transaction writes for one request (or a piece of one): rows, rejections and
    span contexts of one signal."""

    signal: str
    rows: list[tuple[Any, ...]]
    rejections: list[Refusal]
    contexts: list[tuple[Any, ...]] = field(default_factory=list)


def write_retrying(
    conn: psycopg.Connection[Any], parts: list[Part], *, direct: bool, on_conflict: Callable[[], None]
) -> set[str]:
    """`write_once`, run again when PostgreSQL aborted it to break a deadlock or a serialization
    conflict with another writer (another bridge or worker committing the same keys or rollup
    rows): the transaction rolled back whole, so running it again is safe, and such a conflict
    says nothing about the database being down. `on_conflict` counts each retry."""
    for attempt in range(config.WRITE_CONFLICT_RETRIES + 1):
        try:
            return write_once(conn, parts, direct=direct)
        except psycopg.Error as exc:
            conflict = (exc.sqlstate or "").startswith("40")  # transaction rollback: 40P01, 40001
            if not conflict or attempt == config.WRITE_CONFLICT_RETRIES or conn.broken or conn.closed:
                raise
            on_conflict()
            log.info("write conflict with another writer (%s); retrying", exc.sqlstate)
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def write_once(conn: psycopg.Connection[Any], parts: list[Part], *, direct: bool = True) -> set[str]:
    """One transaction: span contexts, every part's rows, their stats; the keys it inserted.

    `direct=False` sends every batch through the staging table (tests compare both paths)."""
    rows = [row for part in parts for row in part.rows]
    contexts = [ctx for part in parts for ctx in part.contexts]
    with conn.transaction(), conn.cursor() as cur:
        inserted: set[str] = set()
        traces: set[str] = set()
        if contexts:
            cur.execute("TRUNCATE staging_spans")
            with cur.copy(f"COPY staging_spans ({CONTEXT_COLS}) FROM STDIN") as copy:
                for ctx in contexts:
                    copy.write_row(ctx)
            cur.execute(INSERT_SPANS)
            traces = {trace for (trace,) in cur.fetchall()}
        if rows:
            parented = any(row[PARENT] is not None and lacks_key_identity(row) for row in rows)
            staged = False
            if parented or not direct:
                stage_calls(cur, rows)
                staged = True
                if parented:
                    cur.execute(FILL_STAGING)
                cur.execute(INSERT_FROM_STAGING)
                inserted = {key for (key,) in cur.fetchall()}
            else:
                inserted = insert_direct(cur, rows)
            if may_complete(rows, inserted):
                if not staged:
                    stage_calls(cur, rows)
                cur.execute(COMPLETE_FROM_STAGING)
            if parented and inserted:
                cur.execute(INSERT_WAITING, (list(inserted),))
        if traces:
            cur.execute(COMPLETE_TRACES, (sorted(traces),))
        _record_stats(cur, parts, inserted)
    return inserted


def _record_stats(cur: psycopg.Cursor[Any], parts: list[Part], inserted: set[str]) -> None:
    """The per-minute ingest stats and the rejections of `parts`, in the same transaction."""
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    stats, rejections = ingest_stats(minute, [(p.signal, p.rows, p.rejections) for p in parts], inserted)
    cur.executemany(UPSERT_STATS, stats)
    if rejections:
        cur.executemany(UPSERT_REJECTION, rejections)
