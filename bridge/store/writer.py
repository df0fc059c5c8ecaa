"""Batching writer: the only code that inserts model calls.

Requests hand their rows to one writer thread through a bounded queue; the thread merges
whatever is waiting into one transaction (COPY into a staging table, then one INSERT that
claims the calls' keys in call_keys and stores the calls whose key it claimed), commits,
and only then completes each request's future. So a request is acknowledged only after its
rows are durable, a replay never adds a row, and a full queue or a dead database is
reported to the exporter as retryable.

If the database refuses a merged batch (bad data the edge let through), the writer rolls back
and isolates the refused rows (bridge/store/isolation.py): everything else is committed and
each refused row goes back to its own sender as a rejection (`WriteResult.rejected`, reported
in partial_success). Only connection-level errors mark the database down and answer retryable.
One transaction's statements are in bridge/store/transaction.py.

Trace context (docs/sources.md): the same transaction stores the request's span contexts in
trace_spans, fills what each staged call lacks from its ancestors (`trace_inherited`), records
calls still lacking a user, session or repository in trace_waiting, and completes stored calls
of the traces whose context just arrived (`trace_context_complete`). Every `maintenance`
seconds the thread prunes both tables to the window and re-completes recent traces, and
creates the day partitions of agent_spend_logs that the window around today lacks
(`spend_partition_maintain()`; also at connect).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bridge import config
from bridge.errors import DatabaseUnavailable, Overloaded
from bridge.metrics import Metrics
from bridge.store.call_statements import CREATE_STAGING, MAINTAIN_PARTITIONS, Refusal, refusal_reason
from bridge.store.isolation import is_refused, isolate
from bridge.store.trace_context import COMPLETE_TRACES, CREATE_STAGING_SPANS, PRUNE_CONTEXT, RECENT_TRACES
from bridge.store.transaction import Part, write_retrying

log = logging.getLogger(__name__)


@dataclass(slots=True)
class WriteResult:
    """What one committed submission wrote: new rows, rows skipped as duplicates, and the rows
    the database refused (reason, example), to be reported back to this submission's sender."""

    written: int
    duplicates: int
    rejected: list[Refusal] = field(default_factory=list)


@dataclass(slots=True)
class Submission:
    """What one request writes (its Part), queued for the writer thread, with its future."""

    part: Part
    future: Future[WriteResult] = field(default_factory=Future)


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
        context_window: float = config.TRACE_CONTEXT_WINDOW_SECONDS,
        maintenance_interval: float = config.TRACE_CONTEXT_MAINTENANCE_SECONDS,
        direct: bool = True,
    ) -> None:
        self.database_url = database_url
        self.metrics = metrics
        self.max_queue_rows = max_queue_rows
        self.max_batch_rows = max_batch_rows
        self.retry_interval = retry_interval
        self.context_window = context_window
        self.maintenance_interval = maintenance_interval
        self.direct = direct  # False: every batch through the staging table (tests compare both)
        self._next_maintenance = time.monotonic() + maintenance_interval
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
        self,
        signal: str,
        rows: list[tuple[Any, ...]],
        rejections: list[tuple[str, dict[str, Any]]],
        contexts: list[tuple[Any, ...]] | None = None,
    ) -> Future[WriteResult]:
        """Queue one request's rows (COLUMNS + STAGING_EXTRAS), rejections and span contexts."""
        contexts = contexts or []
        weight = len(rows) + len(contexts)  # a span context is a row too, of trace_spans
        if self._stopping:
            raise Overloaded("the bridge is shutting down")
        if weight and not self.database_up:
            raise DatabaseUnavailable("the database is unreachable; retry later")
        with self._lock:
            if weight and self._pending_rows + weight > self.max_queue_rows:
                raise Overloaded(
                    f"write queue is full ({self._pending_rows} rows waiting, limit {self.max_queue_rows})"
                )
            self._pending_rows += weight
            self.metrics.queue_depth.set(self._pending_rows)
        submission = Submission(Part(signal, rows, rejections, contexts))
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
            self._conn.execute(CREATE_STAGING_SPANS)
            self._conn.commit()
        except psycopg.Error as exc:
            log.warning("database unavailable: %s", exc)
            self._conn = None
            self._set_up(False)
            return False
        self._set_up(True)
        self._maintain_partitions()
        return True

    def _maintain_partitions(self) -> None:
        """Create the day partitions of the window that are missing (the default partition
        takes any row meanwhile, so a failure here only costs pruning: the next round retries)."""
        if self._conn is None:
            return
        try:
            with self._conn.transaction():
                self._conn.execute("SET LOCAL lock_timeout = '5s'")
                self._conn.execute(MAINTAIN_PARTITIONS)
        except psycopg.Error as exc:
            log.warning("partition maintenance failed: %s", exc)

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
                self._maybe_maintain()
        if first is None:
            return [], True
        batch, rows, stop = [first], len(first.part.rows), False
        while rows < self.max_batch_rows:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                stop = True
                break
            batch.append(more)
            rows += len(more.part.rows) + len(more.part.contexts)
        return batch, stop

    def _run(self) -> None:
        while True:
            batch, stop = self._next_batch()
            if batch:
                self._write(batch)
                self._maybe_maintain()
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

    def _maybe_maintain(self) -> None:
        """Create missing day partitions, prune trace context to the window and re-complete
        recent traces, when due."""
        now = time.monotonic()
        if now < self._next_maintenance or not self.database_up or self._conn is None:
            return
        self._next_maintenance = now + self.maintenance_interval
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                for statement in PRUNE_CONTEXT:
                    cur.execute(statement, {"window": self.context_window})
            # Its own transaction: the re-completion plans an UPDATE over every partition of
            # agent_spend_logs, and the prune need not wait for it.
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute(RECENT_TRACES, (2 * self.maintenance_interval,))
                row = cur.fetchone()
                traces = row[0] if row else []
                if traces:
                    cur.execute(COMPLETE_TRACES, (traces,))
        except psycopg.Error as exc:  # maintenance only: the next round retries
            log.warning("trace context maintenance failed: %s", exc)
        self._maintain_partitions()

    def _write(self, batch: list[Submission]) -> None:
        started = time.perf_counter()
        parts = [sub.part for sub in batch]
        rows = [row for part in parts for row in part.rows]
        weight = len(rows) + sum(len(part.contexts) for part in parts)
        refused: dict[int, list[Refusal]] = {}
        try:
            if not self._try_connect():
                raise DatabaseUnavailable("the database is unreachable; retry later")
            assert self._conn is not None
            conn = self._conn
            try:
                inserted = self._insert(conn, parts)
            except Exception as exc:
                if not is_refused(conn, exc):
                    raise
                log.warning(
                    "database refused a batch of %d rows from %d requests (%s); isolating the refused rows",
                    len(rows),
                    len(batch),
                    refusal_reason(exc),
                )
                inserted = isolate(conn, lambda ps: self._insert(conn, ps), parts, refused)
        except (psycopg.OperationalError, psycopg.InterfaceError, DatabaseUnavailable) as exc:
            self._fail(batch, DatabaseUnavailable(f"database write failed: {exc}"), down=True)
            return
        except Exception as exc:  # a bug: fail this batch loudly, keep serving
            log.exception("batch write failed")
            broken = self._conn is None or self._conn.broken
            self._fail(batch, exc, down=broken)
            return
        finally:
            with self._lock:
                self._pending_rows -= weight
                self.metrics.queue_depth.set(self._pending_rows)
        self.metrics.batch_latency.observe(time.perf_counter() - started)
        self.metrics.batch_rows.observe(len(rows))
        self.metrics.rows_written.inc(len(inserted))
        for i, sub in enumerate(batch):
            keys = {row[0] for row in sub.part.rows}
            written = len(keys & inserted)
            inserted -= keys
            bad = refused.get(i, [])
            duplicates = len(sub.part.rows) - written - len(bad)
            self.metrics.duplicates.inc(duplicates)
            sub.future.set_result(WriteResult(written=written, duplicates=duplicates, rejected=bad))

    def _fail(self, batch: list[Submission], exc: Exception, *, down: bool) -> None:
        if down:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None
            self._set_up(False)
        for sub in batch:
            sub.future.set_exception(exc)

    def _insert(self, conn: psycopg.Connection[Any], parts: list[Part]) -> set[str]:
        """One transaction of `parts` (bridge/store/transaction.py), retried on a write conflict."""
        return write_retrying(conn, parts, direct=self.direct, on_conflict=self.metrics.write_conflicts.inc)
