"""The figures of `agent-spend report ...` and of the read-only API: one function per report.

Every figure is read from the rollups through SQL functions and views of schema/objects/:
`report_spend` (70_reports/010_report_spend.sql: whole UTC days from the daily rollups) for
the daily, weekly and monthly reports, the API's summary and breakdown; `session_summary`
(50_panels/020_session_summary.sql, over session_rollup) for sessions; `report_chargeback`
(70_reports/020_report_chargeback.sql, daily rollups and reconcile_billed) for chargeback;
`budget_state_at` for budgets. So a report, the API and the dashboards cannot disagree about
a definition. Ranges are whole UTC days, `since` and `until` both included; a week is ISO
(Monday to Sunday), a month the calendar month, both in UTC.

Values are exact (Decimal dollars, integer counts); rounding happens only when rendering
(bridge/admin/report_format.py). The commands are bridge/cli/report.py, the API bridge/api/.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Literal, get_args

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from bridge.admin.report_periods import Grain, ReportError, check_range, instant_range, month_range

Dimension = Literal["team", "user", "model", "repo", "harness", "provider"]
SpendKind = Literal["daily", "weekly", "monthly", "summary", "breakdown"]
ChargebackBy = Literal["team", "repo"]

DIMENSIONS: Final[tuple[str, ...]] = get_args(Dimension)
CHARGEBACK_BY: Final[tuple[str, ...]] = get_args(ChargebackBy)
GRAINS: Final[dict[str, Grain]] = {"daily": "day", "weekly": "week", "monthly": "month"}
# Sessions span models and providers: they can be grouped by these only (session_log's columns).
SESSION_DIMENSIONS: Final[dict[str, str]] = {
    "team": "team",
    "user": "user_id",
    "repo": "repository",
    "harness": "harness",
}
ALL = "__all"
TOTAL = "total"
UNATTRIBUTED = "(unattributed)"
SESSION_LIMIT = 50
ZERO = Decimal(0)


@dataclass(frozen=True)
class Filters:
    """The dashboards' six filters: each an empty tuple (All) or the values to keep."""

    environment: tuple[str, ...] = ()
    team: tuple[str, ...] = ()
    user: tuple[str, ...] = ()
    model: tuple[str, ...] = ()
    harness: tuple[str, ...] = ()
    repo: tuple[str, ...] = ()

    def sql_args(self) -> list[list[str]]:
        """The six arrays in the order of the SQL functions' filter arguments ('{__all}' for All)."""
        return [list(getattr(self, f.name)) or [ALL] for f in fields(self)]

    def as_dict(self) -> dict[str, list[str]]:
        """The filters that are set."""
        return {f.name: list(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)}


@dataclass(frozen=True)
class SpendRow:
    """Calls, tokens and costs of one period and one value of the grouping dimension."""

    period: date | None  # first day of the UTC day, ISO week or month; None on the total
    key: str | None  # value of the --by dimension; None without --by, TOTAL on the total
    calls: int
    error_calls: int
    unpriced_calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    total_tokens: int
    cost_usd: Decimal  # the dashboards' cost (subscription calls count 0)
    list_cost_usd: Decimal  # the same tokens at list price
    reported_cost_usd: Decimal  # what the emitters reported


@dataclass(frozen=True)
class SpendReport:
    """A daily, weekly or monthly report (or the API's summary and breakdown) and its total."""

    kind: SpendKind
    grain: Grain | None  # None: one row per key for the whole range
    since: date
    until: date
    by: Dimension | None
    filters: Filters
    rows: list[SpendRow]
    total: SpendRow


@dataclass(frozen=True)
class SessionRow:
    """One session active in the range, over its whole life (session_rollup)."""

    session_id: str
    user_id: str
    team: str
    harness: str
    repository: str
    started_at: datetime
    last_call_at: datetime
    duration_s: Decimal
    turns: int
    total_tokens: int
    cost_usd: Decimal


@dataclass(frozen=True)
class SessionGroupRow:
    """Sessions active in the range, summed per value of the grouping dimension."""

    key: str
    sessions: int
    turns: int
    total_tokens: int
    cost_usd: Decimal
    cost_per_session_usd: Decimal | None


@dataclass(frozen=True)
class SessionsReport:
    """Sessions active in since..until: the costliest `limit` (or all groups with --by) and the total."""

    since: date
    until: date
    by: Dimension | None
    filters: Filters
    limit: int | None
    rows: list[SessionRow] | list[SessionGroupRow]
    total: SessionGroupRow  # over every matching session, not only the rows shown


@dataclass(frozen=True)
class ChargebackRow:
    """One cost centre's month: costs from telemetry and its share of what the providers billed."""

    cost_centre: str
    calls: int
    cost_usd: Decimal
    list_cost_usd: Decimal
    reported_cost_usd: Decimal
    seat_list_cost_usd: Decimal  # list-price value of seat-plan (subscription) calls
    billed_usd: Decimal | None  # None: no billed dollars in the month (reconciliation not set up)


@dataclass(frozen=True)
class ChargebackReport:
    """`report chargeback`: per team or repository, one UTC month."""

    month: date
    since: date
    until: date
    by: ChargebackBy
    rows: list[ChargebackRow]
    total: ChargebackRow


@dataclass(frozen=True)
class BudgetsReport:
    """Every budget's current period as budget_state_at(now) reports it."""

    now: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)


# -- reports ----------------------------------------------------------------------------------


def _dimension(by: str | None, allowed: tuple[str, ...] = DIMENSIONS) -> Any:
    if by is not None and by not in allowed:
        raise ReportError("by", f"by {by!r} is not one of {', '.join(allowed)}")
    return by


def _spend_row(row: dict[str, Any]) -> SpendRow:
    values: dict[str, Any] = {name: int(row[name]) for name in _COUNTS}
    values.update({name: row[name] for name in _DOLLARS})
    return SpendRow(period=row["period"], key=row["key"], **values)


_COUNTS = (
    "calls",
    "error_calls",
    "unpriced_calls",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "total_tokens",
)
_DOLLARS = ("cost_usd", "list_cost_usd", "reported_cost_usd")


def spend_total(rows: list[SpendRow]) -> SpendRow:
    """The sum of `rows` (exact), labelled TOTAL."""
    values: dict[str, Any] = {name: sum(getattr(r, name) for r in rows) for name in _COUNTS}
    values.update({name: sum((getattr(r, name) for r in rows), ZERO) for name in _DOLLARS})
    return SpendRow(period=None, key=TOTAL, **values)


def spend_report(
    conn: psycopg.Connection[Any],
    kind: SpendKind,
    since: date,
    until: date,
    by: str | None = None,
    filters: Filters = Filters(),
) -> SpendReport:
    """Spend per period (per `kind`'s grain; the whole range for summary and breakdown) and per
    value of `by`, most recent period first, then by cost."""
    check_range(since, until)
    dimension = _dimension(by)
    grain = GRAINS.get(kind)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT * FROM report_spend(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ORDER BY period DESC, cost_usd DESC, key",
            [since, until, grain or "range", dimension, *filters.sql_args()],
        )
        rows = [_spend_row(r) for r in cur.fetchall()]
    if grain is None:
        rows = [replace(r, period=None) for r in rows]
    return SpendReport(kind, grain, since, until, dimension, filters, rows, spend_total(rows))


def daily_report(
    conn: psycopg.Connection[Any],
    since: date,
    until: date,
    by: str | None = None,
    filters: Filters = Filters(),
) -> SpendReport:
    """Spend per UTC day."""
    return spend_report(conn, "daily", since, until, by, filters)


def weekly_report(
    conn: psycopg.Connection[Any],
    since: date,
    until: date,
    by: str | None = None,
    filters: Filters = Filters(),
) -> SpendReport:
    """Spend per ISO week (Monday to Sunday, UTC); a week cut by the range counts its days in it."""
    return spend_report(conn, "weekly", since, until, by, filters)


def monthly_report(
    conn: psycopg.Connection[Any],
    since: date,
    until: date,
    by: str | None = None,
    filters: Filters = Filters(),
) -> SpendReport:
    """Spend per UTC calendar month; a month cut by the range counts its days in it."""
    return spend_report(conn, "monthly", since, until, by, filters)


def summary(
    conn: psycopg.Connection[Any], since: date, until: date, filters: Filters = Filters()
) -> SpendReport:
    """The range's totals (one row)."""
    return spend_report(conn, "summary", since, until, None, filters)


def breakdown(
    conn: psycopg.Connection[Any], since: date, until: date, by: str, filters: Filters = Filters()
) -> SpendReport:
    """The range's totals per value of `by`, by cost."""
    return spend_report(conn, "breakdown", since, until, by, filters)


def sessions_report(
    conn: psycopg.Connection[Any],
    since: date,
    until: date,
    by: str | None = None,
    filters: Filters = Filters(),
    limit: int | None = SESSION_LIMIT,
) -> SessionsReport:
    """Sessions active at some point of since..until (session_summary, the Developer dashboard's
    Sessions panel), each with its whole life's turns and cost: the costliest `limit` sessions, or
    with `by` one row per team, user, repository or harness. The model and environment filters
    do not apply to sessions (they span models)."""
    check_range(since, until)
    dimension = _dimension(by, tuple(SESSION_DIMENSIONS))
    start, end = instant_range(since, until)
    source = sql.SQL("session_summary(%s, %s, %s, %s, %s, %s, %s, %s)")
    params = [start, end, *filters.sql_args()]
    measures = sql.SQL(
        "count(*) AS sessions, coalesce(sum(turns), 0) AS turns, "
        "coalesce(sum(total_tokens), 0) AS total_tokens, coalesce(sum(cost_usd), 0) AS cost_usd"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        total_row = cur.execute(sql.SQL("SELECT {} FROM {}").format(measures, source), params).fetchone()
        assert total_row is not None
        total = _group_row(TOTAL, total_row)
        if dimension is None:
            query = sql.SQL(
                "SELECT session_id, user_id, team, harness, repository, started_at, last_call_at, "
                "duration_s, turns, total_tokens, cost_usd FROM {} ORDER BY cost_usd DESC, session_id{}"
            ).format(source, sql.SQL(" LIMIT %s") if limit is not None else sql.SQL(""))
            cur.execute(query, [*params, limit] if limit is not None else params)
            rows: list[SessionRow] | list[SessionGroupRow] = [
                SessionRow(**{**r, "turns": int(r["turns"]), "total_tokens": int(r["total_tokens"])})
                for r in cur.fetchall()
            ]
        else:
            column = sql.Identifier(SESSION_DIMENSIONS[dimension])
            cur.execute(
                sql.SQL("SELECT {} AS key, {} FROM {} GROUP BY 1 ORDER BY cost_usd DESC, key").format(
                    column, measures, source
                ),
                params,
            )
            rows = [_group_row(r["key"], r) for r in cur.fetchall()]
    return SessionsReport(since, until, dimension, filters, None if dimension else limit, rows, total)


def _group_row(key: str, row: dict[str, Any]) -> SessionGroupRow:
    sessions = int(row["sessions"])
    return SessionGroupRow(
        key=key,
        sessions=sessions,
        turns=int(row["turns"]),
        total_tokens=int(row["total_tokens"]),
        cost_usd=row["cost_usd"],
        cost_per_session_usd=row["cost_usd"] / sessions if sessions else None,
    )


def chargeback_report(conn: psycopg.Connection[Any], month: str, by: str = "team") -> ChargebackReport:
    """One UTC month per team or repository: the dashboards' cost, list and reported cost, and the
    billed dollars allocated as report_chargeback's comment (and docs/reports.md) describes."""
    first, last = month_range(month)
    dimension = _dimension(by, CHARGEBACK_BY)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT * FROM report_chargeback(%s, %s, %s) "
            "ORDER BY cost_centre = %s, coalesce(billed_usd, 0) + cost_usd DESC, cost_centre",
            [first, last, dimension, UNATTRIBUTED],
        )
        rows = [ChargebackRow(**{**r, "calls": int(r["calls"])}) for r in cur.fetchall()]
    billed = [r.billed_usd for r in rows if r.billed_usd is not None]
    total = ChargebackRow(
        cost_centre=TOTAL,
        calls=sum(r.calls for r in rows),
        cost_usd=sum((r.cost_usd for r in rows), ZERO),
        list_cost_usd=sum((r.list_cost_usd for r in rows), ZERO),
        reported_cost_usd=sum((r.reported_cost_usd for r in rows), ZERO),
        seat_list_cost_usd=sum((r.seat_list_cost_usd for r in rows), ZERO),
        billed_usd=sum(billed, ZERO) if billed else None,
    )
    return ChargebackReport(first, first, last, dimension, rows, total)


def budgets_report(conn: psycopg.Connection[Any], now: datetime) -> BudgetsReport:
    """Every budget's current period at `now` (budget_state_at); empty when the budgets schema is
    not there."""
    exists = conn.execute("SELECT to_regprocedure('budget_state_at(timestamp with time zone)')").fetchone()
    if exists is None or exists[0] is None:
        return BudgetsReport(now)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM budget_state_at(%s) ORDER BY name", [now])
        return BudgetsReport(now, cur.fetchall())
