"""`agent-spend alerts`: evaluate the alert views, remember what fired, deliver each notice once.

One run (`run_once`) has two steps (docs/alerts.md):

1. **Evaluate and diff**, in one transaction under an advisory lock (so two runners diff
   one after the other): `alerts_firing_at(now)` is every alert firing now. A key
   (kind, subject, period_key) not yet in `alert_state` is new: it fires. A key in it and
   still open is refreshed. An open key that no longer fires is resolved, for good: a key
   fires at most once and resolves at most once, so nothing repeats within its period.
   The same transaction queues one `alert_deliveries` row per notice and destination:
   `firing` for every open alert to each destination of this run (a destination added later
   also hears what is firing now), `resolved` to every destination that was sent its firing.
2. **Deliver**: claim one due row of this run's destinations (`FOR UPDATE SKIP LOCKED`,
   status `sending`, a lease), commit, send, then mark it `sent`, or `pending` with a later
   `next_attempt_at` (exponential between runs) and the error. A row claimed by another
   runner is skipped, so two runners never send the same notice; a runner that dies between
   sending and marking leaves a claim whose lease expires, and the notice is sent again:
   at least once, at most one repeat per crash, carrying the same `id` / Idempotency-Key.

Nothing here reads the clock: `now` is passed in (the CLI passes the clock's).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bridge import config
from bridge.admin.alert_delivery import Alert, DeliveryError, Destination, Notice

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key of the evaluate-and-diff step ('alerts' in ASCII).
LOCK_KEY = 0x616C65727473
LEASE = timedelta(seconds=config.ALERT_LEASE_SECONDS)

FIRING = (
    "SELECT kind, subject, period_key, severity, summary, value, threshold, details FROM alerts_firing_at(%s)"
)

UPSERT_STATE = """
    INSERT INTO alert_state (kind, subject, period_key, severity, summary, value, threshold, details,
                             fired_at, last_seen_at)
    VALUES (%(kind)s, %(subject)s, %(period_key)s, %(severity)s, %(summary)s, %(value)s, %(threshold)s,
            %(details)s, %(now)s, %(now)s)
    ON CONFLICT (kind, subject, period_key) DO UPDATE
        SET severity = EXCLUDED.severity, summary = EXCLUDED.summary, value = EXCLUDED.value,
            threshold = EXCLUDED.threshold, details = EXCLUDED.details, last_seen_at = EXCLUDED.last_seen_at
        WHERE alert_state.resolved_at IS NULL
    RETURNING (xmax = 0) AS inserted
"""

OPEN_STATE = """
    SELECT kind, subject, period_key, severity, summary, value, threshold, details, fired_at
    FROM alert_state WHERE resolved_at IS NULL
"""

RESOLVE = """
    UPDATE alert_state SET resolved_at = %(now)s
    WHERE kind = %(kind)s AND subject = %(subject)s AND period_key = %(period_key)s AND resolved_at IS NULL
"""

QUEUE_FIRING = """
    INSERT INTO alert_deliveries (kind, subject, period_key, event, destination, label, created_at,
                                  next_attempt_at)
    SELECT s.kind, s.subject, s.period_key, 'firing', d.id, d.label, %(now)s, %(now)s
    FROM alert_state s, unnest(%(ids)s::text[], %(labels)s::text[]) AS d(id, label)
    WHERE s.resolved_at IS NULL
    ON CONFLICT DO NOTHING
"""

QUEUE_RESOLVED = """
    INSERT INTO alert_deliveries (kind, subject, period_key, event, destination, label, created_at,
                                  next_attempt_at)
    SELECT f.kind, f.subject, f.period_key, 'resolved', f.destination, f.label, %(now)s, %(now)s
    FROM alert_deliveries f
    WHERE f.event = 'firing' AND f.kind = %(kind)s AND f.subject = %(subject)s
      AND f.period_key = %(period_key)s
    ON CONFLICT DO NOTHING
"""

CLAIM = """
    UPDATE alert_deliveries d
    SET status = 'sending', lease_until = %(lease_until)s, lease_owner = %(owner)s, rounds = d.rounds + 1
    FROM alert_state s
    WHERE d.id = (
        SELECT c.id FROM alert_deliveries c
        WHERE c.destination = ANY(%(ids)s)
          AND ((c.status = 'pending' AND c.next_attempt_at <= %(now)s)
               OR (c.status = 'sending' AND c.lease_until <= %(now)s))
        ORDER BY c.id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
      AND (s.kind, s.subject, s.period_key) = (d.kind, d.subject, d.period_key)
    RETURNING d.id, d.event, d.destination, d.rounds, s.kind, s.subject, s.period_key, s.severity,
              s.summary, s.value, s.threshold, s.details, s.fired_at, s.resolved_at
"""

MARK_SENT = """
    UPDATE alert_deliveries
    SET status = 'sent', sent_at = %(now)s, attempts = attempts + %(tries)s, last_error = NULL,
        lease_until = NULL, lease_owner = NULL
    WHERE id = %(id)s AND lease_owner = %(owner)s AND status = 'sending'
"""

MARK_FAILED = """
    UPDATE alert_deliveries
    SET status = CASE WHEN rounds >= %(max_rounds)s THEN 'failed' ELSE 'pending' END,
        next_attempt_at = %(next)s, attempts = attempts + %(tries)s, last_error = %(error)s,
        lease_until = NULL, lease_owner = NULL
    WHERE id = %(id)s AND lease_owner = %(owner)s AND status = 'sending'
    RETURNING status
"""


@dataclass(frozen=True, slots=True)
class Delivered:
    """One notice that reached (or did not reach) one destination in this run."""

    notice: Notice
    destination: str
    error: str | None = None
    gave_up: bool = False


@dataclass
class RunResult:
    """What one run found and did."""

    now: datetime
    firing: list[Alert] = field(default_factory=list)
    fired: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    sent: list[Delivered] = field(default_factory=list)
    failed: list[Delivered] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def owner_id() -> str:
    """Who holds a claim: host, process and a random part (threads of one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _alert(row: dict[str, Any]) -> Alert:
    return Alert(
        kind=row["kind"],
        subject=row["subject"],
        period_key=row["period_key"],
        severity=row["severity"],
        summary=row["summary"],
        value=row["value"],
        threshold=row["threshold"],
        details=row["details"] or {},
    )


def evaluate(conn: psycopg.Connection[Any], now: datetime) -> list[Alert]:
    """Every alert firing at `now`, from the SQL views' functions."""
    with conn.cursor(row_factory=dict_row) as cur:
        return [_alert(r) for r in cur.execute(FIRING, (now,)).fetchall()]


def round_backoff(rounds: int) -> timedelta:
    """How long a notice that failed its `rounds`-th run waits before the next run retries it."""
    seconds = config.ALERT_ROUND_BACKOFF_SECONDS * 2 ** max(rounds - 1, 0)
    return timedelta(seconds=min(seconds, config.ALERT_ROUND_BACKOFF_MAX_SECONDS))


def diff(
    conn: psycopg.Connection[Any], now: datetime, destinations: Sequence[Destination]
) -> tuple[list[Alert], list[Alert], list[Alert]]:
    """Step 1 in the caller's transaction: (firing now, newly fired, newly resolved)."""
    from psycopg.types.json import Jsonb

    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
    firing = evaluate(conn, now)
    fired: list[Alert] = []
    for alert in firing:
        row = conn.execute(
            UPSERT_STATE,
            {
                "kind": alert.kind,
                "subject": alert.subject,
                "period_key": alert.period_key,
                "severity": alert.severity,
                "summary": alert.summary,
                "value": alert.value,
                "threshold": alert.threshold,
                "details": Jsonb(alert.details),
                "now": now,
            },
        ).fetchone()
        if row is not None and row[0]:
            fired.append(alert)
    keys = {a.key for a in firing}
    resolved: list[Alert] = []
    with conn.cursor(row_factory=dict_row) as cur:
        open_rows = cur.execute(OPEN_STATE).fetchall()
    for state in open_rows:
        alert = _alert(state)
        if alert.key in keys:
            continue
        params = {"kind": alert.kind, "subject": alert.subject, "period_key": alert.period_key, "now": now}
        conn.execute(RESOLVE, params)
        conn.execute(QUEUE_RESOLVED, params)
        resolved.append(alert)
    if destinations:
        conn.execute(
            QUEUE_FIRING,
            {"now": now, "ids": [d.id for d in destinations], "labels": [d.label for d in destinations]},
        )
    return firing, fired, resolved


def _claim(conn: psycopg.Connection[Any], now: datetime, ids: list[str], owner: str) -> dict[str, Any] | None:
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            CLAIM, {"now": now, "lease_until": now + LEASE, "owner": owner, "ids": ids}
        ).fetchone()


def deliver(
    conn: psycopg.Connection[Any],
    now: datetime,
    destinations: Sequence[Destination],
    owner: str,
    result: RunResult,
) -> None:
    """Step 2 on an autocommit connection: claim, send and mark every due notice of ours."""
    by_id = {d.id: d for d in destinations}
    healthy = list(by_id)
    while healthy:
        row = _claim(conn, now, healthy, owner)
        if row is None:
            return
        notice = Notice(row["event"], _alert(row), row["fired_at"], row["resolved_at"])
        destination = by_id[row["destination"]]
        try:
            tries = destination.send(notice)
        except DeliveryError as exc:
            status = conn.execute(
                MARK_FAILED,
                {
                    "id": row["id"],
                    "owner": owner,
                    "max_rounds": config.ALERT_MAX_ROUNDS,
                    "next": now + round_backoff(row["rounds"]),
                    "tries": exc.attempts,
                    "error": str(exc),
                },
            ).fetchone()
            gave_up = status is not None and status[0] == "failed"
            result.failed.append(Delivered(notice, destination.label, str(exc), gave_up))
            log.warning("alert %s to %s failed: %s", notice.id, destination.label, exc)
            # The rest of this destination's notices wait for the next run.
            healthy.remove(destination.id)
            continue
        conn.execute(MARK_SENT, {"id": row["id"], "owner": owner, "now": now, "tries": tries})
        result.sent.append(Delivered(notice, destination.label))


def run_once(
    database_url: str,
    destinations: Sequence[Destination],
    now: datetime,
    *,
    dry_run: bool = False,
    owner: str | None = None,
) -> RunResult:
    """Evaluate, record and deliver; `dry_run` evaluates and diffs but records and sends nothing."""
    result = RunResult(now)
    with psycopg.connect(database_url) as conn:
        firing, fired, resolved = diff(conn, now, [] if dry_run else destinations)
        result.firing, result.fired, result.resolved = firing, fired, resolved
        if dry_run:
            conn.rollback()
            return result
        conn.commit()
        conn.autocommit = True
        deliver(conn, now, destinations, owner or owner_id(), result)
    return result


def run_loop(
    database_url: str,
    destinations: Sequence[Destination],
    interval: float,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    stop: threading.Event | None = None,
    on_result: Callable[[RunResult], None] = lambda _: None,
    on_error: Callable[[Exception], None] = lambda _: None,
) -> None:
    """`run_once` every `interval` seconds until `stop` is set; a database outage is reported, not fatal."""
    stop = stop or threading.Event()
    owner = owner_id()
    while not stop.is_set():
        try:
            on_result(run_once(database_url, destinations, clock(), owner=owner))
        except psycopg.Error as exc:
            on_error(exc)
        stop.wait(interval)


def send_test(destinations: Sequence[Destination], now: datetime) -> list[Delivered]:
    """One sample notice to each destination, recording nothing: checks the wiring."""
    alert = Alert(
        kind="test",
        subject="agent-spend",
        period_key=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        severity="info",
        summary="test notice from `agent-spend alerts test`: this destination receives alerts",
    )
    notice = Notice("test", alert, now)
    results = []
    for destination in destinations:
        try:
            destination.send(notice)
        except DeliveryError as exc:
            results.append(Delivered(notice, destination.label, str(exc)))
        else:
            results.append(Delivered(notice, destination.label))
    return results


@dataclass(frozen=True, slots=True)
class StateRow:
    """One alert_state row with its deliveries' counts, for `alerts list`."""

    alert: Alert
    fired_at: datetime
    resolved_at: datetime | None
    sent: int
    pending: int
    failed: int
    last_error: str | None


LIST_STATE = """
    SELECT s.kind, s.subject, s.period_key, s.severity, s.summary, s.value, s.threshold, s.details,
           s.fired_at, s.resolved_at,
           count(*) FILTER (WHERE d.status = 'sent') AS sent,
           count(*) FILTER (WHERE d.status IN ('pending', 'sending')) AS pending,
           count(*) FILTER (WHERE d.status = 'failed') AS failed,
           (array_agg(d.last_error ORDER BY d.id DESC)
                FILTER (WHERE d.last_error IS NOT NULL))[1] AS last_error
    FROM alert_state s
    LEFT JOIN alert_deliveries d USING (kind, subject, period_key)
    WHERE s.resolved_at IS NULL OR s.resolved_at >= %s
    GROUP BY s.kind, s.subject, s.period_key
    ORDER BY s.resolved_at IS NOT NULL, s.fired_at DESC, s.kind, s.subject
"""


def list_state(
    database_url: str, now: datetime, resolved_since: timedelta = timedelta(days=7)
) -> tuple[list[Alert], list[StateRow]]:
    """What fires at `now`, and the open alerts plus those resolved in the last `resolved_since`."""
    with psycopg.connect(database_url) as conn:
        firing = evaluate(conn, now)
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(LIST_STATE, (now - resolved_since,)).fetchall()
    return firing, [
        StateRow(
            _alert(r), r["fired_at"], r["resolved_at"], r["sent"], r["pending"], r["failed"], r["last_error"]
        )
        for r in rows
    ]
