"""Batching writer: the only code that inserts model calls.

Requests hand their rows to one writer thread through a bounded queue; the thread merges
whatever is waiting into one transaction (COPY into a staging table, then one INSERT that
claims the calls' keys in call_keys and stores the calls whose key it claimed), commits,
and only then completes each request's future. So a request is acknowledged only after its
rows are durable, a replay never adds a row, and a full queue or a dead database is
reported to the exporter as retryable.

Edge validation (bridge/mapping/validate.py) keeps values the database would refuse out of
the queue. If the database still refuses a merged batch (a data, integrity or limit error:
SQLSTATE classes 22, 23, 54, or text the client cannot encode), the writer rolls back,
writes each submission alone, and bisects a submission that still fails down to the rows
the database refuses. Everything else is committed; each refused row goes back to its own
sender as a rejection (`WriteResult.rejected`, reported in partial_success). Only
connection-level errors mark the database down and answer retryable; a refused row never does.

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
import re
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
from bridge.model import safe_example, safe_reason
from bridge.store.rows import COLUMNS, COST_COLUMNS, STAGING_EXTRAS
from bridge.store.trace_context import (
    COMPLETE_TRACES,
    CONTEXT_COLS,
    CREATE_STAGING_SPANS,
    FILL_STAGING,
    INSERT_SPANS,
    INSERT_WAITING,
    PRUNE_CONTEXT,
    RECENT_TRACES,
    lacks_key_identity,
)

log = logging.getLogger(__name__)

_COLS = ", ".join(COLUMNS)
_SELECT = ", ".join("COALESCE(s.team, u.team, 'unknown')" if c == "team" else f"s.{c}" for c in COLUMNS)
# `ord` is the row's position in the batch: the first copy of a call to arrive is the one stored.
_STAGED = ", ".join((*COLUMNS, "ord", *STAGING_EXTRAS))
CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS staging_calls AS"
    f" SELECT {_COLS}, 0::bigint AS ord, NULL::text AS parent_span_id, NULL::text AS sender"
    " FROM agent_spend_logs WITH NO DATA"
)
_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
_NCOLS = len(COLUMNS)
_PARENT = _NCOLS + STAGING_EXTRAS.index("parent_span_id")
_REPORTED = COLUMNS.index("reported_cost_usd")
_TS, _USER_ID, _TEAM = (COLUMNS.index(c) for c in ("ts", "user_id", "team"))
UNKNOWN_TEAM = "unknown"  # the staging path's COALESCE(s.team, u.team, 'unknown')


def _may_complete(rows: list[tuple[Any, ...]], inserted: set[str]) -> bool:
    """Does a copy that did not make its row carry a reported cost (COMPLETE_FROM_STAGING)?"""
    made: set[str] = set()
    for row in rows:
        key = row[0]
        if key in inserted and key not in made:
            made.add(key)  # the first copy of a new call is the row itself
        elif row[_REPORTED] is not None:
            return True
    return False


def _completes(old: str, new: str, new_team: str) -> str:
    """SQL: may the copy `new` complete the missing reported cost of the stored row `old`?

    Only when it is the same call (same source, user, team, model and token buckets), the
    stored row has no reported cost yet, and the reported cost is plausible: at most
    REPORTED_COST_MAX_FACTOR x the list cost + REPORTED_COST_SLACK_USD, or below
    REPORTED_COST_UNPRICED_MAX_USD when the model has no list price. Anything else (another
    sender's copy with the same ids, other tokens, an absurd cost) leaves the row as it is.
    """
    same_tokens = " AND ".join(f"{new}.{c} = {old}.{c}" for c in _TOKENS)
    list_cost = f"COALESCE({old}.list_cost_usd, {new}.list_cost_usd)"
    return f"""{old}.reported_cost_usd IS NULL AND {new}.reported_cost_usd IS NOT NULL
        AND {new}.source = {old}.source AND {new}.user_id = {old}.user_id
        AND {new_team} = {old}.team AND {new}.model = {old}.model AND {same_tokens}
        AND {new}.reported_cost_usd <= CASE WHEN {list_cost} IS NULL
            THEN {config.REPORTED_COST_UNPRICED_MAX_USD}
            ELSE {list_cost} * {config.REPORTED_COST_MAX_FACTOR} + {config.REPORTED_COST_SLACK_USD} END"""


# agent_spend_logs is partitioned by ts (migration 0012), so the key of a call is claimed in
# call_keys, which holds every stored call's key and the ts of its row: only the calls whose
# key this statement claimed are inserted (the first copy to arrive, by `ord`), so two
# copies with different timestamps (on either side of a partition boundary) are one row, and
# concurrent writers serialise on the key. The trigger on agent_spend_logs then finds the
# keys already claimed.
INSERT_FROM_STAGING = f"""
    WITH firsts AS MATERIALIZED (
        SELECT DISTINCT ON (dedup_key) * FROM staging_calls ORDER BY dedup_key, ord
    ), claimed AS (
        INSERT INTO call_keys (dedup_key, ts)
        SELECT dedup_key, ts FROM firsts ORDER BY dedup_key
        ON CONFLICT (dedup_key) DO NOTHING
        RETURNING dedup_key
    )
    INSERT INTO agent_spend_logs ({_COLS})
    SELECT {_SELECT}
    FROM firsts s JOIN claimed c ON c.dedup_key = s.dedup_key
    LEFT JOIN users u ON u.user_id = s.user_id
    ORDER BY s.dedup_key
    RETURNING dedup_key
"""
# The direct path (docs/scale.md "Direct writes"): when no row of the batch waits for its
# trace context, the writer keeps each key's first copy itself, claims the keys here (in key
# order, so concurrent writers lock them in one order) and COPYs only the claimed rows
# straight into agent_spend_logs: no staging table, no sort of whole rows, no join. Same
# first-copy-wins and same team rule (COALESCE(team, users.team, 'unknown')) as the staging
# path, whose result it must equal (tests/test_writer_paths.py).
CLAIM_KEYS = """
    INSERT INTO call_keys (dedup_key, ts)
    SELECT k, t FROM unnest(%s::text[], %s::timestamptz[]) AS u (k, t) ORDER BY k
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING dedup_key
"""
USER_TEAMS = "SELECT user_id, team FROM users WHERE user_id = ANY (%s)"
COPY_CALLS = f"COPY agent_spend_logs ({_COLS}) FROM STDIN"
# Tells call_keys_trigger (schema/objects/25_partitions) that this transaction's inserted rows
# are exactly the keys it claimed at their ts, so the trigger need not check them again.
KEYS_CLAIMED = "SET LOCAL agent_spend.keys_claimed = on"
# The cost the emitter reported arrives on only one of a call's signals (Claude Code puts
# cost_usd on its log event, not on its span). Whichever arrives first makes the row; the
# first later copy of the *same call* that carries the reported cost completes it (and
# nothing else): its costs were computed from the same tokens with more knowledge. See
# _completes. The stored row is found at the ts call_keys holds, in one partition. Only run
# when a copy that did not make its row carries a reported cost.
COMPLETE_FROM_STAGING = f"""
    UPDATE agent_spend_logs t SET ({", ".join(COST_COLUMNS)}) = ({", ".join("s." + c for c in COST_COLUMNS)})
    FROM (
        SELECT DISTINCT ON (c.dedup_key) c.*, k.ts AS stored_ts
        FROM staging_calls c
        JOIN call_keys k ON k.dedup_key = c.dedup_key
        JOIN agent_spend_logs o ON o.dedup_key = c.dedup_key AND o.ts = k.ts
        LEFT JOIN users u ON u.user_id = c.user_id
        WHERE c.reported_cost_usd IS NOT NULL
          AND {_completes("o", "c", "COALESCE(c.team, u.team, 'unknown')")}
        ORDER BY c.dedup_key, c.ord
    ) s
    WHERE t.dedup_key = s.dedup_key AND t.ts = s.stored_ts AND t.reported_cost_usd IS NULL
"""
# Day partitions from a week back to a few days ahead (spend_partition_window()), so every
# call the bridge accepts (at most a day in the future) finds its partition; older late
# calls go to the default partition. Runs at connect and with every maintenance.
MAINTAIN_PARTITIONS = "SELECT spend_partition_maintain()"
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


Refusal = tuple[str, dict[str, Any]]  # (reason, example), as rejections are recorded


@dataclass(slots=True)
class WriteResult:
    """What one committed submission wrote: new rows, rows skipped as duplicates, and the rows
    the database refused (reason, example), to be reported back to this submission's sender."""

    written: int
    duplicates: int
    rejected: list[Refusal] = field(default_factory=list)


@dataclass(slots=True)
class _Part:
    """What one transaction writes: rows, rejections and span contexts of one signal."""

    signal: str
    rows: list[tuple[Any, ...]]
    rejections: list[Refusal]
    contexts: list[tuple[Any, ...]] = field(default_factory=list)


_SQLSTATE_REFUSED = ("22", "23", "54")  # data exception, integrity violation, program limit
_COLUMN = re.compile(r"column (\w+)")


def _refusal_reason(exc: BaseException) -> str:
    """A refused row's reason, naming the column or index when PostgreSQL says which."""
    diag = getattr(exc, "diag", None)
    primary = (diag.message_primary if diag is not None else None) or str(exc).split("\n")[0]
    column = diag.column_name if diag is not None else None
    found = _COLUMN.search(diag.context or "") if diag is not None and column is None else None
    if found:
        column = found.group(1)
    state = getattr(exc, "sqlstate", None) or type(exc).__name__
    where = f"{column}: " if column else ""
    return safe_reason(f"database refused the record: {where}{primary} ({state})", 300)


def _example(row: tuple[Any, ...]) -> dict[str, Any]:
    return safe_example({"dedup_key": row[0], "source": row[5], "signal": row[6]})


@dataclass(slots=True)
class Submission:
    """Rows and rejections of one request, queued for the writer thread, with their future."""

    signal: str
    rows: list[tuple[Any, ...]]
    rejections: list[Refusal]
    contexts: list[tuple[Any, ...]] = field(default_factory=list)
    future: Future[WriteResult] = field(default_factory=Future)


def _part(sub: Submission) -> _Part:
    return _Part(sub.signal, sub.rows, sub.rejections, sub.contexts)


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
        submission = Submission(signal, rows, rejections, contexts)
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
            rows += len(more.rows) + len(more.contexts)
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
        rows = [row for sub in batch for row in sub.rows]
        weight = len(rows) + sum(len(sub.contexts) for sub in batch)
        refused: dict[int, list[Refusal]] = {}
        try:
            if not self._try_connect():
                raise DatabaseUnavailable("the database is unreachable; retry later")
            assert self._conn is not None
            conn = self._conn
            try:
                inserted = self._insert(conn, [_part(s) for s in batch])
            except Exception as exc:
                if not self._refused(conn, exc):
                    raise
                log.warning(
                    "database refused a batch of %d rows from %d requests (%s); isolating the refused rows",
                    len(rows),
                    len(batch),
                    _refusal_reason(exc),
                )
                inserted = self._isolate(conn, batch, refused)
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
            keys = {row[0] for row in sub.rows}
            written = len(keys & inserted)
            inserted -= keys
            bad = refused.get(i, [])
            duplicates = len(sub.rows) - written - len(bad)
            self.metrics.duplicates.inc(duplicates)
            sub.future.set_result(WriteResult(written=written, duplicates=duplicates, rejected=bad))

    @staticmethod
    def _refused(conn: psycopg.Connection[Any], exc: Exception) -> bool:
        """Did the database (or the client encoder) refuse the data, on a healthy connection?"""
        if conn.broken or conn.closed:
            return False
        if isinstance(exc, UnicodeError):  # text the client cannot encode (a lone surrogate)
            return True
        if not isinstance(exc, psycopg.Error):
            return False
        if isinstance(exc, (psycopg.DataError, psycopg.IntegrityError)):
            return True  # also raised by psycopg itself, with no SQLSTATE (NUL in text)
        return (exc.sqlstate or "")[:2] in _SQLSTATE_REFUSED

    def _isolate(
        self, conn: psycopg.Connection[Any], batch: list[Submission], refused: dict[int, list[Refusal]]
    ) -> set[str]:
        """After a refused batch: each submission alone; a refused submission is bisected."""
        inserted: set[str] = set()
        for i, sub in enumerate(batch):
            if len(batch) > 1:
                try:
                    inserted |= self._insert(conn, [_part(sub)])
                    continue
                except Exception as exc:
                    if not self._refused(conn, exc):
                        raise
            bad = refused.setdefault(i, [])
            inserted |= self._bisect(conn, sub.signal, sub.rows, bad)
            try:  # its rejections, the refused rows (counted like any rejection), its span contexts
                self._insert(conn, [_Part(sub.signal, [], sub.rejections + bad, sub.contexts)])
            except Exception as exc:
                if not self._refused(conn, exc):
                    raise
                log.error("could not record %d rejections: %s", len(sub.rejections) + len(bad), exc)
        return inserted

    def _bisect(
        self, conn: psycopg.Connection[Any], signal: str, rows: list[tuple[Any, ...]], bad: list[Refusal]
    ) -> set[str]:
        """Write `rows`, halving on refusal down to the single rows the database refuses."""
        try:
            return self._insert(conn, [_Part(signal, rows, [])])
        except Exception as exc:
            if not self._refused(conn, exc):
                raise
            if len(rows) == 1:
                reason = _refusal_reason(exc)
                log.warning("refused row %r: %s", str(rows[0][0])[:100], reason)
                bad.append((reason, _example(rows[0])))
                return set()
        mid = len(rows) // 2
        return self._bisect(conn, signal, rows[:mid], bad) | self._bisect(conn, signal, rows[mid:], bad)

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

    def _insert(self, conn: psycopg.Connection[Any], parts: list[_Part]) -> set[str]:
        """`_insert_once`, retried when PostgreSQL aborted it to break a deadlock or a
        serialization conflict with another writer (another bridge or worker committing the
        same keys or rollup rows): the transaction rolled back whole, so running it again is
        safe, and such a conflict says nothing about the database being down."""
        for attempt in range(config.WRITE_CONFLICT_RETRIES + 1):
            try:
                return self._insert_once(conn, parts)
            except psycopg.Error as exc:
                conflict = (exc.sqlstate or "").startswith("40")  # transaction rollback: 40P01, 40001
                if not conflict or attempt == config.WRITE_CONFLICT_RETRIES or conn.broken or conn.closed:
                    raise
                self.metrics.write_conflicts.inc()
                log.info("write conflict with another writer (%s); retrying", exc.sqlstate)
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _insert_once(self, conn: psycopg.Connection[Any], parts: list[_Part]) -> set[str]:
        """One transaction: span contexts, every part's rows through the staging table, their stats."""
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
                parented = any(row[_PARENT] is not None and lacks_key_identity(row) for row in rows)
                staged = False
                if parented or not self.direct:
                    self._stage(cur, rows)
                    staged = True
                    if parented:
                        cur.execute(FILL_STAGING)
                    cur.execute(INSERT_FROM_STAGING)
                    inserted = {key for (key,) in cur.fetchall()}
                else:
                    inserted = self._insert_direct(cur, rows)
                if _may_complete(rows, inserted):
                    if not staged:
                        self._stage(cur, rows)
                    cur.execute(COMPLETE_FROM_STAGING)
                if parented and inserted:
                    cur.execute(INSERT_WAITING, (list(inserted),))
            if traces:
                cur.execute(COMPLETE_TRACES, (sorted(traces),))
            self._record_stats(cur, parts, inserted)
        return inserted

    @staticmethod
    def _stage(cur: psycopg.Cursor[Any], rows: list[tuple[Any, ...]]) -> None:
        """Every row of the batch, with its position, into the session's staging table."""
        cur.execute("TRUNCATE staging_calls")
        with cur.copy(f"COPY staging_calls ({_STAGED}) FROM STDIN") as copy:
            for ord_, row in enumerate(rows):
                copy.write_row((*row[:_NCOLS], ord_, *row[_NCOLS:]))

    @staticmethod
    def _insert_direct(cur: psycopg.Cursor[Any], rows: list[tuple[Any, ...]]) -> set[str]:
        """The first copy of each key, claimed in call_keys, COPYed into agent_spend_logs: the
        keys this transaction stored (the rest were stored before, by anyone)."""
        firsts: dict[str, tuple[Any, ...]] = {}
        for row in rows:
            firsts.setdefault(row[0], row)
        keys = sorted(firsts)
        cur.execute(CLAIM_KEYS, (keys, [firsts[k][_TS] for k in keys]))
        claimed = [key for (key,) in cur.fetchall()]
        if not claimed:
            return set()
        teamless = {firsts[k][_USER_ID] for k in claimed if firsts[k][_TEAM] is None}
        teams: dict[str, str] = {}
        if teamless:
            cur.execute(USER_TEAMS, (sorted(teamless),))
            teams = {user: team for user, team in cur.fetchall() if team is not None}
        cur.execute(KEYS_CLAIMED)
        with cur.copy(COPY_CALLS) as copy:
            for key in claimed:
                row = firsts[key]
                if row[_TEAM] is None:
                    row = (*row[:_TEAM], teams.get(row[_USER_ID], UNKNOWN_TEAM), *row[_TEAM + 1 : _NCOLS])
                copy.write_row(row[:_NCOLS])
        return set(claimed)

    def _record_stats(self, cur: psycopg.Cursor[Any], parts: list[_Part], inserted: set[str]) -> None:
        bucket = _minute(datetime.now(UTC))
        received: Counter[str] = Counter()
        written: Counter[str] = Counter()
        rejected: Counter[str] = Counter()
        reasons: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        seen: set[str] = set()
        for part in parts:
            received[part.signal] += len(part.rows)
            for row in part.rows:
                if row[0] in inserted and row[0] not in seen:
                    written[part.signal] += 1
                    seen.add(row[0])
            rejected[part.signal] += len(part.rejections)
            for reason, example in part.rejections:
                key = (part.signal, safe_reason(reason))
                count, first = reasons.get(key, (0, example))
                reasons[key] = (count + 1, first)
        stats = [
            (bucket, s, received[s], written[s], received[s] - written[s], rejected[s])
            for s in sorted(set(received) | set(rejected))  # one lock order for every writer
        ]
        cur.executemany(UPSERT_STATS, stats)
        if reasons:
            cur.executemany(
                UPSERT_REJECTION,
                [
                    (bucket, s, reason, n, Jsonb(safe_example(ex)))
                    for (s, reason), (n, ex) in sorted(reasons.items(), key=lambda item: item[0])
                ],
            )
