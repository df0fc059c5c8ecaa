"""The incremental, idempotent pull of the providers' reports into billing_lines/billing_sync.

One report of one provider (a `ReportSource`: Anthropic usage, cost or Claude Code; OpenAI
usage or costs) is pulled for a range of UTC days, at most `CHUNK_DAYS` at a time. For each
chunk the lines are fetched first (no transaction is open while the network is slow), then
one transaction deletes every billing_lines row of that (provider, report) and those days,
inserts the new lines and advances `billing_sync.complete_through`. Pulling a day again
therefore replaces it (a late correction wins) and never adds to it.

Which days: `since`..`until` when given; otherwise from `complete_through + 1` minus
`overlap_days` (default 2: the providers correct recent days after the fact) through today.
A first run without `since` starts `first_run_days` (30) ago. Today's bucket is pulled too
(a partial figure, replaced by the next run), but `complete_through` only advances to the
last day whose bucket had closed at `now` (its end, the next midnight UTC, not after `now`).

A failure (the provider refused, kept answering 429, answered another shape) leaves the
chunks already committed in place, stores its message in `billing_sync.last_error` (messages
from bridge.admin.reconcile.client never hold a key) and is returned, not raised, so one
provider's outage does not stop the other's pull. The CLI is bridge/cli/reconcile.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import psycopg

from bridge import config
from bridge.admin.reconcile.client import AdminApiError

log = logging.getLogger(__name__)

PROVIDERS = ("anthropic", "openai")
REPORTS = ("usage", "cost", "claude_code", "csv_usage", "csv_cost")
OVERLAP_DAYS = config.RECONCILE_OVERLAP_DAYS
FIRST_RUN_DAYS = config.RECONCILE_FIRST_RUN_DAYS
# Days written per transaction (the providers' own page limit for daily buckets is 31).
CHUNK_DAYS = 31

INSERT_LINE = """
    INSERT INTO billing_lines (provider, report, day, model, account, user_ref, line_item, requests,
                               input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                               cost_usd, pulled_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
DELETE_DAYS = "DELETE FROM billing_lines WHERE provider = %s AND report = %s AND day BETWEEN %s AND %s"
RECORD_SUCCESS = """
    INSERT INTO billing_sync (provider, report, complete_through, last_pulled_at, last_error)
    VALUES (%s, %s, %s, %s, NULL)
    ON CONFLICT (provider, report) DO UPDATE
        SET complete_through = greatest(billing_sync.complete_through, EXCLUDED.complete_through),
            last_pulled_at = EXCLUDED.last_pulled_at,
            last_error = NULL
"""
RECORD_FAILURE = """
    INSERT INTO billing_sync (provider, report, last_error) VALUES (%s, %s, %s)
    ON CONFLICT (provider, report) DO UPDATE SET last_error = EXCLUDED.last_error
"""


@dataclass(frozen=True, slots=True)
class BillingLine:
    """One billing_lines row: what a provider's report says about one day and one grouping."""

    provider: str
    report: str
    day: date
    model: str = ""
    account: str = ""
    user_ref: str = ""
    line_item: str = ""
    requests: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: Decimal | None = None

    def key(self) -> tuple[str, str, date, str, str, str, str]:
        """The table's primary key: lines with equal keys are summed by `merge_lines`."""
        return (self.provider, self.report, self.day, self.model, self.account, self.user_ref, self.line_item)


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


def _add_cost(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None and b is None else (a or Decimal(0)) + (b or Decimal(0))


def merge_lines(lines: Iterable[BillingLine]) -> list[BillingLine]:
    """One line per primary key, summing lines that share one.

    Reports can split a grouping on a dimension we do not keep (service tier, context window,
    batch), and console exports repeat a key on several rows; summing keeps every token.
    """
    merged: dict[tuple[str, str, date, str, str, str, str], BillingLine] = {}
    for line in lines:
        key = line.key()
        seen = merged.get(key)
        merged[key] = (
            line
            if seen is None
            else replace(
                seen,
                requests=_add(seen.requests, line.requests),
                input_tokens=seen.input_tokens + line.input_tokens,
                output_tokens=seen.output_tokens + line.output_tokens,
                cache_read_tokens=seen.cache_read_tokens + line.cache_read_tokens,
                cache_write_tokens=seen.cache_write_tokens + line.cache_write_tokens,
                cost_usd=_add_cost(seen.cost_usd, line.cost_usd),
            )
        )
    return sorted(merged.values(), key=lambda line: line.key())


class ReportSource(Protocol):
    """One provider report that can be fetched for a range of UTC days (both ends included)."""

    provider: str
    report: str

    def fetch(self, first: date, last: date) -> list[BillingLine]: ...


@dataclass(frozen=True, slots=True)
class PullResult:
    """What one report's pull did: the days it replaced, the lines written, or its error."""

    provider: str
    report: str
    first: date | None  # None: nothing to pull (the range was empty)
    last: date | None
    days_written: int
    lines: int
    complete_through: date | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def utc_today(now: datetime) -> date:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC).date()


def last_complete_day(now: datetime) -> date:
    """The last UTC day whose bucket has closed at `now` (its end, next midnight, <= now)."""
    return utc_today(now) - timedelta(days=1)


def _require_autocommit(conn: psycopg.Connection) -> None:
    # Each chunk is its own transaction (conn.transaction()); inside an outer transaction
    # they would become savepoints that commit only when the caller does.
    if not conn.autocommit:
        raise ValueError("reconcile needs a connection in autocommit mode")


def sync_state(conn: psycopg.Connection, provider: str, report: str) -> date | None:
    row = conn.execute(
        "SELECT complete_through FROM billing_sync WHERE provider = %s AND report = %s", (provider, report)
    ).fetchone()
    return row[0] if row else None


def plan_days(
    complete_through: date | None,
    *,
    now: datetime,
    since: date | None = None,
    until: date | None = None,
    overlap_days: int = OVERLAP_DAYS,
    first_run_days: int = FIRST_RUN_DAYS,
) -> tuple[date, date] | None:
    """The days to pull (both ends included), or None when there are none."""
    today = utc_today(now)
    last = min(until, today) if until is not None else today
    if since is not None:
        first = since
    elif complete_through is not None:
        first = complete_through + timedelta(days=1) - timedelta(days=max(overlap_days, 0))
    else:
        first = today - timedelta(days=first_run_days)
    return (first, last) if first <= last else None


def replace_days(
    conn: psycopg.Connection,
    provider: str,
    report: str,
    first: date,
    last: date,
    lines: Sequence[BillingLine],
    *,
    now: datetime,
    complete_through: date | None,
) -> int:
    """In one transaction: delete the days `first..last` of this report, insert `lines`,
    record the pull in billing_sync. Returns the number of lines written."""
    _require_autocommit(conn)
    merged = merge_lines(lines)
    for line in merged:
        if (line.provider, line.report) != (provider, report) or not first <= line.day <= last:
            raise ValueError(f"line {line.key()} is outside {provider}/{report} {first}..{last}")
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(DELETE_DAYS, (provider, report, first, last))
        cur.executemany(
            INSERT_LINE,
            [
                (
                    line.provider,
                    line.report,
                    line.day,
                    _text(line.model),
                    _text(line.account),
                    _text(line.user_ref),
                    _text(line.line_item),
                    line.requests,
                    line.input_tokens,
                    line.output_tokens,
                    line.cache_read_tokens,
                    line.cache_write_tokens,
                    line.cost_usd,
                    now,
                )
                for line in merged
            ],
        )
        cur.execute(RECORD_SUCCESS, (provider, report, complete_through, now))
    return len(merged)


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; nothing else a report sends is refused.
    return value.replace("\x00", "")


def record_failure(conn: psycopg.Connection, provider: str, report: str, message: str) -> None:
    conn.execute(RECORD_FAILURE, (provider, report, message[:2000]))


def _chunks(first: date, last: date, size: int) -> Iterable[tuple[date, date]]:
    start = first
    while start <= last:
        end = min(start + timedelta(days=size - 1), last)
        yield start, end
        start = end + timedelta(days=1)


def pull_report(
    conn: psycopg.Connection,
    source: ReportSource,
    *,
    now: datetime,
    since: date | None = None,
    until: date | None = None,
    overlap_days: int = OVERLAP_DAYS,
    first_run_days: int = FIRST_RUN_DAYS,
) -> PullResult:
    """Pull one report for the planned days, chunk by chunk (see the module docstring)."""
    _require_autocommit(conn)
    provider, report = source.provider, source.report
    previous = sync_state(conn, provider, report)
    days = plan_days(
        previous, now=now, since=since, until=until, overlap_days=overlap_days, first_run_days=first_run_days
    )
    if days is None:
        return PullResult(provider, report, None, None, 0, 0, previous)
    first, last = days
    closed = last_complete_day(now)
    written_days = written_lines = 0
    through = previous
    for start, end in _chunks(first, last, CHUNK_DAYS):
        try:
            lines = [line for line in source.fetch(start, end) if start <= line.day <= end]
        except AdminApiError as exc:
            message = f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} {exc}"
            record_failure(conn, provider, report, message)
            log.error("%s/%s: %s", provider, report, exc)
            return PullResult(provider, report, first, last, written_days, written_lines, through, str(exc))
        complete = min(end, closed) if start <= closed else None
        written_lines += replace_days(
            conn, provider, report, start, end, lines, now=now, complete_through=complete
        )
        written_days += (end - start).days + 1
        if complete is not None and (through is None or complete > through):
            through = complete
        log.info("%s/%s: replaced %s..%s (%d lines)", provider, report, start, end, len(lines))
    return PullResult(provider, report, first, last, written_days, written_lines, through)


def pull(
    conn: psycopg.Connection,
    sources: Iterable[ReportSource],
    *,
    now: datetime,
    since: date | None = None,
    until: date | None = None,
    overlap_days: int = OVERLAP_DAYS,
    first_run_days: int = FIRST_RUN_DAYS,
) -> list[PullResult]:
    """Pull every source in turn; one source's failure is recorded and the next still runs."""
    return [
        pull_report(
            conn,
            source,
            now=now,
            since=since,
            until=until,
            overlap_days=overlap_days,
            first_run_days=first_run_days,
        )
        for source in sources
    ]
