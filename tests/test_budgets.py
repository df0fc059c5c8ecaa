"""Budgets (docs/budgets.md): periods, scopes, thresholds, projection and history of
budget_periods / budget_state_at, on hand-made rows at explicit instants."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

US = timedelta(microseconds=1)
NOW = datetime(2025, 3, 12, 6, 0, tzinfo=UTC)  # a Wednesday: ISO week from Monday 10 March
MONTH = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
WEEK = (datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC))
DAY = (datetime(2025, 3, 12, tzinfo=UTC), datetime(2025, 3, 13, tzinfo=UTC))
BOUNDS = {"month": MONTH, "week": WEEK, "day": DAY}
_keys = itertools.count()


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def spend(
    conn: psycopg.Connection[Any],
    ts: datetime,
    cost: str | int,
    *,
    user: str = "ann@x",
    team: str = "core",
    repo: str | None = "acme/app",
) -> None:
    conn.execute(
        "INSERT INTO agent_spend_logs (dedup_key, ts, ingest_ts, source, signal, user_id, team,"
        " workspace_repo, model, provider, input_tokens, output_tokens, total_cost_usd, list_cost_usd,"
        " cost_estimation)"
        " VALUES (%s, %s, %s, 'test', 'trace', %s, %s, %s, 'm', 'p', 10, 1, %s, %s, 'metered')",
        (f"k{next(_keys)}", ts, ts, user, team, repo, Decimal(cost), Decimal(cost)),
    )


def budget(
    conn: psycopg.Connection[Any],
    name: str,
    kind: str,
    scope: str,
    period: str,
    amount: str | int,
    *,
    valid_from: datetime | str = "-infinity",
    valid_to: datetime | None = None,
    thresholds: list[int] | None = None,
    warn_projected: bool = True,
) -> None:
    conn.execute(
        "INSERT INTO budgets (name, scope_kind, scope, period, amount_usd, thresholds, warn_projected,"
        " valid_from, valid_to)"
        " VALUES (%s, %s, %s, %s, %s, coalesce(%s::numeric[], '{50,80,100}'), %s, %s, %s)",
        (name, kind, scope, period, Decimal(amount), thresholds, warn_projected, valid_from, valid_to),
    )


def state(conn: psycopg.Connection[Any], now: datetime) -> dict[str, dict[str, Any]]:
    cur = conn.execute("SELECT * FROM budget_state_at(%s)", (now,))
    names = [d.name for d in cur.description or []]
    return {row[1]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


@pytest.mark.parametrize("zone", ["UTC", "America/St_Johns", "Asia/Kolkata"])
def test_periods_are_utc_months_iso_weeks_and_utc_days(conn: psycopg.Connection[Any], zone: str) -> None:
    conn.execute(f"SET TIME ZONE '{zone}'")

    def series(period: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return conn.execute("SELECT * FROM budget_period_series(%s, %s, %s)", (period, start, end)).fetchall()

    leap = datetime(2024, 2, 29, 23, 59, tzinfo=UTC)
    assert series("month", leap, leap + US) == [
        (datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
    ]
    new_year = datetime(2025, 1, 1, 12, tzinfo=UTC)  # a Wednesday: its ISO week starts on 30 December
    assert series("week", new_year, new_year + US) == [
        (datetime(2024, 12, 30, tzinfo=UTC), datetime(2025, 1, 6, tzinfo=UTC))
    ]
    assert series("day", DAY[0] - US, DAY[0] + US) == [(DAY[0] - timedelta(days=1), DAY[0]), DAY]
    november, february = datetime(2024, 11, 15, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)
    assert [s for s, _ in series("month", november, february)] == [
        datetime(2024, 11, 1, tzinfo=UTC),
        datetime(2024, 12, 1, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC),
    ]
    for period, (start, end) in BOUNDS.items():
        assert series(period, NOW, NOW + US) == [(start, end)]
        assert series(period, start, start + US) == [(start, end)]
        assert series(period, end - US, end) == [(start, end)]


@pytest.mark.parametrize("period", ["month", "week", "day"])
def test_each_scope_spends_exactly_its_period_up_to_now(conn: psycopg.Connection[Any], period: str) -> None:
    start, end = BOUNDS[period]
    conn.execute("SET TIME ZONE 'America/St_Johns'")
    for ts in (start - US, NOW + US, end):  # outside: before the period, after p_now
        spend(conn, ts, 1000)
    spend(conn, start, 1)  # the first microsecond counts
    spend(conn, NOW, 2)  # p_now itself counts
    spend(conn, NOW - timedelta(minutes=30), 4, user="bob@x", team="data", repo=None)
    spend(conn, start + timedelta(hours=1, minutes=7), 8, user="cy@x", team="data", repo="acme/lib")
    budget(conn, "org", "org", "", period, 10_000)
    budget(conn, "core", "team", "core", period, 10_000)
    budget(conn, "data", "team", "data", period, 10_000)
    budget(conn, "ann", "user", "ann@x", period, 10_000)
    budget(conn, "bob", "user", "bob@x", period, 10_000)
    budget(conn, "app", "repository", "acme/app", period, 10_000)
    budget(conn, "lib", "repository", "acme/lib", period, 10_000)
    budget(conn, "norepo", "repository", "(none)", period, 10_000)
    budget(conn, "idle", "team", "nobody", period, 10_000)
    got = state(conn, NOW)
    spent = {name: row["spent_usd"] for name, row in got.items()}
    assert spent == {
        "org": 15,
        "core": 3,
        "data": 12,
        "ann": 3,
        "bob": 4,
        "app": 3,
        "lib": 8,
        "norepo": 4,
        "idle": 0,
    }
    assert {(row["period_start"], row["period_end"]) for row in got.values()} == {(start, end)}
    assert {row["period"] for row in got.values()} == {period}
    # The same figures from the SQL functions the dashboards use.
    total = conn.execute("SELECT sum(cost_usd) FROM spend_totals(%s, %s)", (start, NOW)).fetchone()
    assert total == (spent["org"],)


def test_thresholds_status_and_projection(conn: psycopg.Connection[Any]) -> None:
    start, end = MONTH
    fraction = Decimal((NOW - start) / timedelta(seconds=1)) / Decimal((end - start) / timedelta(seconds=1))
    spend(conn, NOW - timedelta(hours=1), 30, team="a")
    spend(conn, NOW - timedelta(hours=1), 30, team="b")
    spend(conn, NOW - timedelta(hours=1), 30, team="c")
    spend(conn, NOW - timedelta(hours=1), 30, team="d")
    spend(conn, NOW - timedelta(hours=1), 30, team="e")
    budget(conn, "exceeded", "team", "a", "month", 30)  # 100 %
    budget(conn, "warning", "team", "b", "month", 50, thresholds=[50, 90])  # 60 %
    budget(conn, "projected", "team", "c", "month", 80)  # 37.5 %; 30 / 11.25 days x 31 days > 80
    budget(conn, "quiet", "team", "d", "month", 80, warn_projected=False)  # the same, no warning
    budget(conn, "ok", "team", "e", "month", 1000)
    got = state(conn, NOW)
    assert {n: r["status"] for n, r in got.items()} == {
        "exceeded": "exceeded",
        "warning": "warning",
        "projected": "projected_over",
        "quiet": "ok",
        "ok": "ok",
    }
    assert got["exceeded"]["percent"] == 100 and got["exceeded"]["threshold_reached"] == 100
    assert got["warning"]["percent"] == 60 and got["warning"]["threshold_reached"] == 50
    assert got["projected"]["threshold_reached"] is None and got["projected"]["projected_over"] is True
    assert got["quiet"]["projected_over"] is False
    assert round(got["projected"]["projected_usd"], 6) == round(30 / fraction, 6)
    assert got["ok"]["thresholds"] == [50, 80, 100]


def test_projection_in_the_first_minutes_is_at_most_24_times_spent(conn: psycopg.Connection[Any]) -> None:
    for period, (start, end) in BOUNDS.items():
        spend(conn, start, 1, team=period)
        budget(conn, period, "team", period, period, 10)
        early = state(conn, start + timedelta(minutes=1))[period]
        assert early["projected_usd"] == 24 and early["projected_over"] is True
        assert early["status"] == "projected_over"
        late = state(conn, end - US)[period]  # the last microsecond: the period is (almost) over
        assert late["spent_usd"] == 1 and round(late["projected_usd"], 6) == 1


def test_a_past_period_is_judged_against_the_budget_that_applied_then(conn: psycopg.Connection[Any]) -> None:
    change = datetime(2025, 3, 5, 12, tzinfo=UTC)
    removed = datetime(2025, 5, 20, tzinfo=UTC)
    budget(conn, "core", "team", "core", "month", 100, valid_to=change)
    budget(conn, "core", "team", "core", "month", 40, valid_from=change, valid_to=removed)
    for month in (1, 2, 3, 4, 5, 6):
        spend(conn, datetime(2025, month, 2, tzinfo=UTC), 50)
    rows = conn.execute(
        "SELECT period_start, amount_usd, spent_usd, status FROM budget_periods(%s, %s)",
        (datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)),
    ).fetchall()
    assert rows == [
        (datetime(2025, 1, 1, tzinfo=UTC), 100, 50, "warning"),
        (datetime(2025, 2, 1, tzinfo=UTC), 100, 50, "warning"),
        (datetime(2025, 3, 1, tzinfo=UTC), 40, 50, "exceeded"),  # changed mid-March: the new amount
        (datetime(2025, 4, 1, tzinfo=UTC), 40, 50, "exceeded"),
        # May was removed before its end: no version judges it, nor June.
    ]
    assert state(conn, change - US)["core"]["amount_usd"] == 100  # before the change: the old amount
    assert state(conn, change)["core"]["amount_usd"] == 40
    assert state(conn, datetime(2025, 5, 19, tzinfo=UTC))["core"]["status"] == "exceeded"
    assert state(conn, removed) == {}


def test_budget_periods_of_a_partial_range_are_judged_at_its_end(conn: psycopg.Connection[Any]) -> None:
    budget(conn, "org", "org", "", "week", 70)
    spend(conn, WEEK[0] + timedelta(hours=5), 10)
    spend(conn, NOW + timedelta(hours=1), 10)
    rows = conn.execute(
        "SELECT period_start, spent_usd, projected_usd FROM budget_periods(%s, %s)", (WEEK[0] - US, NOW)
    ).fetchall()
    assert [r[:2] for r in rows] == [(WEEK[0] - timedelta(days=7), 0), (WEEK[0], 10)]
    assert round(rows[1][2], 6) == round(Decimal(10) / (Decimal(54) / Decimal(168)), 6)
    assert conn.execute("SELECT count(*) FROM budget_periods(%s, %s)", (NOW, NOW)).fetchone() == (0,)


def test_the_view_is_the_function_at_the_clock(conn: psycopg.Connection[Any]) -> None:
    budget(conn, "org", "org", "", "day", 1)
    budget(conn, "gone", "org", "", "day", 1, valid_to=datetime(2025, 1, 1, tzinfo=UTC))
    (now,) = conn.execute("SELECT now()").fetchone() or (None,)
    with conn.transaction():  # one transaction: one now()
        view = conn.execute("SELECT * FROM budget_state").fetchall()
        func = conn.execute("SELECT * FROM budget_state_at(now())").fetchall()
    assert view == func and [r[1] for r in view] == ["org"]
    assert now is not None
