"""Batching writer: the only code that inserts model calls.

Requests hand their rows to one writer thread through a bounded queue; the thread merges
whatever is waiting into one transaction (COPY into a staging table, then one INSERT …
ON CONFLICT DO NOTHING), commits, and only then completes each request's future. So a
request is acknowledged only after its rows are durable, a replay never adds a row, and
a full queue or a dead database is reported to the exporter as retryable.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bridge import config
from bridge.errors import DatabaseUnavailable, Overloaded
from bridge.metrics import Metrics
from bridge.store.rows import COLUMNS, COST_COLUMNS

log = logging.getLogger(__name__)

_COLS = ", ".join(COLUMNS)
_SELECT = ", ".join("COALESCE(s.team, u.team, 'unknown')" if c == "team" else f"s.{c}" for c in COLUMNS)
CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS staging_calls AS SELECT {_COLS} FROM agent_spend_logs WITH NO DATA"
)
# The cost the emitter reported arrives on only one of a call's signals (Claude Code puts
# cost_usd on its log event, not on its span). Whichever arrives first makes the row; a
# later copy that carries the reported cost completes it (and nothing else): its costs
# were computed from the same tokens with more knowledge.
INSERT_FROM_STAGING = f"""
    INSERT INTO agent_spend_logs ({_COLS})
    SELECT {_SELECT}
    FROM (
        -- One row per call even if the batch holds several copies (ON CONFLICT DO UPDATE
        -- may not touch a row twice); prefer the copy with a reported cost.
        SELECT DISTINCT ON (dedup_key) * FROM staging_calls
        ORDER BY dedup_key, reported_cost_usd IS NULL, ts
    ) s LEFT JOIN users u ON u.user_id = s.user_id
    ORDER BY s.dedup_key
    ON CONFLICT (dedup_key) DO UPDATE SET ({", ".join(COST_COLUMNS)})
        = ({", ".join("EXCLUDED." + c for c in COST_COLUMNS)})
        WHERE agent_spend_logs.reported_cost_usd IS NULL AND EXCLUDED.reported_cost_usd IS NOT NULL
    RETURNING dedup_key, xmax = 0 AS inserted
"""
UPSERT_STATS = """
    INSERT INTO ingest_stats (bucket, signal, records_received, rows_written, duplicates_skipped, rejected)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (bucket, signal) DO UPDATE SET
        records_received = ingest_stats.records_received + EXCLUDED.records_received,
        rows_written = ingest_stats.rows_written + EXCLUDED.rows_written,
        duplicates_skipped = ingest_stats.duplicates_skipped + EXCLUDED.duplicates_skipped,
        rejected = ingest_stats.rejected + EXCLUDED.rejected
"""
UPSERT_REJECTION = """
    INSERT INTO ingest_rejections (bucket, signal, reason, count, example)
    VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (bucket, signal, reason) DO UPDATE SET count = ingest_rejections.count + EXCLUDED.count
"""


@dataclass(slots=True)
class WriteResult:
    """What one committed submission wrote: new rows and rows skipped as duplicates."""

    written: int
    duplicates: int


@dataclass(slots=True)
class Submission:
    """Rows and rejections of one request, queued for the writer thread, with their future."""

    signal: str
    rows: list[tuple[Any, ...]]
    rejections: list[tuple[str, dict[str, Any]]]
    future: Future[WriteResult] = field(default_factory=Future)


def _minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


class BatchWriter:
    """The single writer thread: batches queued rows into COPY transactions, bounded by a queue limit."""

    def __init__(
        self,
        database_url: str,
        metrics: Metrics,
        *,
        max_queue_rows: int = config.MAX_QUEUE_ROWS,
        max_batch_rows: int = config.MAX_BATCH_ROWS,
        retry_interval: float = 1.0,
    ) -> None:
        self.database_url = database_url
        self.metrics = metrics
        self.max_queue_rows = max_queue_rows
        self.max_batch_rows = max_batch_rows
        self.retry_interval = retry_interval
        self._queue: queue.Queue[Submission | None] = queue.Queue()
        self._pending_rows = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="agent-spend-writer", daemon=True)
        self._conn: psycopg.Connection[Any] | None = None
        self._stopping = False
        self.database_up = False

    # -- producer side -------------------------------------------------------------
    def start(self) -> None:
        self._try_connect()
        self._thread.start()

    def submit(
        self, signal: str, rows: list[tuple[Any, ...]], rejections: list[tuple[str, dict[str, Any]]]
    ) -> Future[WriteResult]:
        if self._stopping:
            raise Overloaded("the bridge is shutting down")
        if rows and not self.database_up:
            raise DatabaseUnavailable("the database is unreachable; retry later")
        with self._lock:
            if rows and self._pending_rows + len(rows) > self.max_queue_rows:
                raise Overloaded(
                    f"write queue is full ({self._pending_rows} rows waiting, limit {self.max_queue_rows})"
                )
            self._pending_rows += len(rows)
            self.metrics.queue_depth.set(self._pending_rows)
        submission = Submission(signal, rows, rejections)
        self._queue.put(submission)
        return submission.future

    def stop(self, timeout: float = config.WRITE_TIMEOUT_SECONDS) -> None:
        """Drain everything already accepted, commit it, then stop."""
        self._stopping = True
        self._queue.put(None)
        self._thread.join(timeout)
        if self._conn is not None:
            self._conn.close()

    # -- writer thread (and start()) ------------------------------------------------
    def _try_connect(self) -> bool:
        if self._conn is not None and not self._conn.closed:
            return True
        try:
            self._conn = psycopg.connect(
                self.database_url, connect_timeout=5, application_name="agent-spend-bridge"
            )
            self._conn.execute(CREATE_STAGING)
            self._conn.commit()
        except psycopg.Error as exc:
            log.warning("database unavailable: %s", exc)
            self._conn = None
            self._set_up(False)
            return False
        self._set_up(True)
        return True

    def _set_up(self, up: bool) -> None:
        self.database_up = up
        self.metrics.database_up.set(1 if up else 0)

    def _next_batch(self) -> tuple[list[Submission], bool]:
        """Block for one submission, then take whatever else is waiting, up to the batch size."""
        while True:
            try:
                first = self._queue.get(timeout=self.retry_interval)
                break
            except queue.Empty:
                if not self.database_up:
                    self._try_connect()  # recover without waiting for traffic
        if first is None:
            return [], True
        batch, rows, stop = [first], len(first.rows), False
        while rows < self.max_batch_rows:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                stop = True
                break
            batch.append(more)
            rows += len(more.rows)
        return batch, stop

    def _run(self) -> None:
        while True:
            batch, stop = self._next_batch()
            if batch:
                self._write(batch)
            if stop:
                # Drain anything queued behind the stop marker so no accepted request hangs.
                rest = []
                while not self._queue.empty():
                    item = self._queue.get_nowait()
                    if item is not None:
                        rest.append(item)
                if rest:
                    self._write(rest)
                return

    def _write(self, batch: list[Submission]) -> None:
        started = time.perf_counter()
        rows = [row for sub in batch for row in sub.rows]
        try:
            if not self._try_connect():
                raise DatabaseUnavailable("the database is unreachable; retry later")
            assert self._conn is not None
            inserted = self._insert(self._conn, batch, rows)
        except (psycopg.OperationalError, psycopg.InterfaceError, DatabaseUnavailable) as exc:
            self._fail(batch, DatabaseUnavailable(f"database write failed: {exc}"))
            return
        except Exception as exc:  # a bug or constraint violation: fail loudly, keep serving
            log.exception("batch write failed")
            self._fail(batch, exc)
            return
        finally:
            with self._lock:
                self._pending_rows -= len(rows)
                self.metrics.queue_depth.set(self._pending_rows)
        self.metrics.batch_latency.observe(time.perf_counter() - started)
        self.metrics.batch_rows.observe(len(rows))
        self.metrics.rows_written.inc(len(inserted))
        for sub in batch:
            keys = {row[0] for row in sub.rows}
            written = len(keys & inserted)
            inserted -= keys
            self.metrics.duplicates.inc(len(sub.rows) - written)
            sub.future.set_result(WriteResult(written=written, duplicates=len(sub.rows) - written))

    def _fail(self, batch: list[Submission], exc: Exception) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
        self._set_up(False)
        for sub in batch:
            sub.future.set_exception(exc)

    def _insert(
        self, conn: psycopg.Connection[Any], batch: list[Submission], rows: list[tuple[Any, ...]]
    ) -> set[str]:
        with conn.transaction(), conn.cursor() as cur:
            inserted: set[str] = set()
            if rows:
                cur.execute("TRUNCATE staging_calls")
                with cur.copy(f"COPY staging_calls ({_COLS}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(INSERT_FROM_STAGING)
                inserted = {key for key, is_new in cur.fetchall() if is_new}
            self._record_stats(cur, batch, rows, inserted)
        return inserted

    def _record_stats(
        self,
        cur: psycopg.Cursor[Any],
        batch: list[Submission],
        rows: list[tuple[Any, ...]],
        inserted: set[str],
    ) -> None:
        bucket = _minute(datetime.now(UTC))
        received: Counter[str] = Counter()
        written: Counter[str] = Counter()
        rejected: Counter[str] = Counter()
        reasons: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        seen: set[str] = set()
        for sub in batch:
            received[sub.signal] += len(sub.rows)
            for row in sub.rows:
                if row[0] in inserted and row[0] not in seen:
                    written[sub.signal] += 1
                    seen.add(row[0])
            rejected[sub.signal] += len(sub.rejections)
            for reason, example in sub.rejections:
                count, first = reasons.get((sub.signal, reason), (0, example))
                reasons[(sub.signal, reason)] = (count + 1, first)
        stats = [
            (bucket, s, received[s], written[s], received[s] - written[s], rejected[s])
            for s in set(received) | set(rejected)
        ]
        cur.executemany(UPSERT_STATS, stats)
        if reasons:
            cur.executemany(
                UPSERT_REJECTION,
                [(bucket, s, reason[:500], n, Jsonb(ex)) for (s, reason), (n, ex) in reasons.items()],
            )
