"""Budgets (docs/budgets.md) in the database: periods, scopes, thresholds, projection and
history of budget_periods / budget_state_at on hand-made rows at explicit instants, the
versions set/rm/apply keep, the `agent-spend budget` CLI and the lab's seeded budgets.

Parsing and validating the budget file has its own module, test_budget_file; the row
helpers both use live in tests/support/budgets.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from bridge.admin.budget_file import parse_budget_file
from bridge.admin.budgets import (
    DEFAULT_THRESHOLDS,
    BudgetError,
    apply_budgets,
    budget_periods,
    budget_state,
    current_budgets,
    kept_budgets,
    make_spec,
    remove_budget,
    set_budget,
)
from bridge.cli.budget import budget_group
from seeder.budgets import EXPECTED, seed_budgets
from tests.support.budgets import BUDGET_FILE, budget, spend, state, versions

US = timedelta(microseconds=1)
NOW = datetime(2025, 3, 12, 6, 0, tzinfo=UTC)  # a Wednesday: ISO week from Monday 10 March
MONTH = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
WEEK = (datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC))
DAY = (datetime(2025, 3, 12, tzinfo=UTC), datetime(2025, 3, 13, tzinfo=UTC))
BOUNDS = {"month": MONTH, "week": WEEK, "day": DAY}


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


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


# --- bridge.admin.budgets: versions, apply ---------------------------------------------------


def test_the_python_default_thresholds_are_the_column_default(conn: psycopg.Connection[Any]) -> None:
    budget(conn, "org", "org", "", "day", 1)
    row = conn.execute("SELECT thresholds FROM budgets").fetchone()
    assert row is not None and tuple(row[0]) == DEFAULT_THRESHOLDS


def test_set_keeps_history_and_rm_closes(conn: psycopg.Connection[Any]) -> None:
    t1, t2, t3 = NOW - timedelta(days=20), NOW - timedelta(days=3), NOW - timedelta(hours=1)
    spec = make_spec("team", "core", "month", "100")
    assert spec.name == "team:core:month"
    assert set_budget(conn, spec, now=t1).action == "create"
    assert set_budget(conn, spec, now=t2).action == "unchanged"
    change = set_budget(conn, make_spec("team", "core", "month", 40, thresholds="80,100"), now=t2)
    assert change.action == "update"
    assert change.describe() == "~ team:core:month: amount_usd: 100 -> 40; thresholds: 50/80/100 -> 80/100"
    assert versions(conn, "team:core:month") == [(100, t1, t2), (40, t2, None)]
    spend(conn, datetime(2025, 2, 20, tzinfo=UTC), 50)
    spend(conn, datetime(2025, 3, 2, tzinfo=UTC), 50)
    past = budget_periods(conn, datetime(2025, 2, 1, tzinfo=UTC), NOW)
    assert [(p.period_start.month, p.amount_usd, p.status) for p in past] == [
        (2, 100, "warning"),
        (3, 40, "exceeded"),
    ]
    assert remove_budget(conn, "team:core:month", now=t3).action == "remove"
    assert budget_state(conn, NOW) == []
    assert [s.name for s in budget_state(conn, t3 - US)] == ["team:core:month"]
    with pytest.raises(BudgetError, match="no current budget named 'team:core:month'"):
        remove_budget(conn, "team:core:month", now=NOW)
    with pytest.raises(BudgetError, match="starts after"):
        set_budget(conn, make_spec("org", "", "day", 5), now=NOW)  # a new budget: fine
        set_budget(conn, make_spec("org", "", "day", 6), now=NOW - timedelta(days=1))


def test_apply_creates_updates_keeps_and_prunes(conn: psycopg.Connection[Any]) -> None:
    t1, t2, t3 = NOW - timedelta(days=2), NOW - timedelta(days=1), NOW
    set_budget(conn, make_spec("user", "ann@x", "day", 3), now=t1)  # not in the file
    declared = parse_budget_file(BUDGET_FILE)
    dry = apply_budgets(conn, declared, dry_run=True, now=t1)
    assert [c.describe() for c in dry] == [
        "+ org:month: org, per month, $5,000.00, thresholds 50/80/100 %, projected warning on",
        "+ payments: team payments, per week, $300.50, thresholds 80/100 %, projected warning off",
        "+ repository:acme/app:day: repository acme/app, per day, $25.00, thresholds 50/80/100 %, "
        "projected warning on",
    ]
    assert list(current_budgets(conn)) == ["user:ann@x:day"]  # the dry run changed nothing
    assert [c.action for c in apply_budgets(conn, declared, now=t1)] == ["create"] * 3
    assert [c.action for c in apply_budgets(conn, declared, now=t2)] == ["unchanged"] * 3
    edited = parse_budget_file(
        BUDGET_FILE.replace("300.50", "350").replace(
            "  - repository: acme/app\n", "  - repository: acme/lib\n"
        )
    )
    plan = apply_budgets(conn, edited, dry_run=True, prune=True, now=t2)
    assert [c.describe() for c in plan] == [
        "= org:month",
        "~ payments: amount_usd: 300.5 -> 350",
        "- repository:acme/app:day: repository acme/app, per day, $25.00, thresholds 50/80/100 %, "
        "projected warning on",
        "+ repository:acme/lib:day: repository acme/lib, per day, $25.00, thresholds 50/80/100 %, "
        "projected warning on",
        "- user:ann@x:day: user ann@x, per day, $3.00, thresholds 50/80/100 %, projected warning on",
    ]  # fmt: skip
    assert len(conn.execute("SELECT * FROM budgets").fetchall()) == 4  # still
    assert [c.action for c in apply_budgets(conn, edited, now=t2)] == ["unchanged", "update", "create"]
    assert kept_budgets(current_budgets(conn), edited) == ["repository:acme/app:day", "user:ann@x:day"]
    apply_budgets(conn, edited, prune=True, now=t3)
    assert sorted(current_budgets(conn)) == ["org:month", "payments", "repository:acme/lib:day"]
    assert versions(conn, "payments")[0][0] == Decimal("300.50") and versions(conn, "payments")[1][0] == 350
    assert [s.name for s in budget_state(conn, t3 - US)] == [
        "org:month", "payments", "repository:acme/app:day", "repository:acme/lib:day", "user:ann@x:day",
    ]  # fmt: skip


# --- the CLI ------------------------------------------------------------------------------------


def test_cli_set_list_rm_apply(database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(budget_group, [args[0], "--database-url", database_url, *args[1:]])

    created = run("set", "--team", "core", "--period", "week", "--amount", "200", "--thresholds", "90,100")
    assert created.exit_code == 0, created.output
    assert created.output == (
        "created: team:core:week: team core, per week, $200.00, thresholds 90/100 %, projected warning on\n"
    )
    assert run(
        "set", "--team", "core", "--period", "week", "--amount", "200", "--thresholds", "90,100"
    ).output.startswith("unchanged: team:core:week")
    updated = run("set", "--team", "core", "--period", "week", "--amount", "250", "--no-projected-warning")
    assert updated.exit_code == 0 and updated.output.startswith(
        "updated: team:core:week: amount_usd: 200 -> 250; thresholds: 90/100 -> 50/80/100; "
        "warn_projected: True -> False"
    )
    assert run("set", "--org", "--team", "x", "--amount", "5").exit_code == 2
    assert run("set", "--amount", "5").exit_code == 2
    bad = run("set", "--org", "--amount", "-1")
    assert bad.exit_code == 2 and "above 0" in bad.output
    assert run("set", "--org", "--amount", "1000", "--name", "company").exit_code == 0

    listed = run("list")
    assert listed.exit_code == 0
    assert listed.output.splitlines()[0].split() == ["NAME", "SCOPE", "PERIOD", "AMOUNT", "SPENT", "PERCENT",
                                                     "PROJECTED", "STATUS"]  # fmt: skip
    assert [line.split()[0] for line in listed.output.splitlines()[1:]] == ["company", "team:core:week"]
    at = run("list", "--json", "--at", "2025-03-12T06:00:00")
    assert at.exit_code == 0 and json.loads(at.output) == []  # before the budgets existed
    states = json.loads(run("list", "--json").output)
    assert [(s["name"], s["amount_usd"], s["status"], s["thresholds"]) for s in states] == [
        ("company", 1000.0, "ok", [50.0, 80.0, 100.0]),
        ("team:core:week", 250.0, "ok", [50.0, 80.0, 100.0]),
    ]

    removed = run("rm", "company")
    assert removed.exit_code == 0 and removed.output == "removed: company\n"
    missing = run("rm", "company")
    assert missing.exit_code == 1 and "no current budget named 'company'" in missing.output

    path = tmp_path / "budgets.yaml"
    path.write_text(BUDGET_FILE)
    dry = run("apply", str(path), "--dry-run")
    assert dry.exit_code == 0
    assert dry.output.splitlines()[-2:] == [
        f"  team:core:week: not in {path}, kept (--prune removes it)",
        "dry run: 3 to create, 0 to update, 0 to remove, 0 unchanged; nothing changed",
    ]
    assert json.loads(run("list", "--json").output)[0]["name"] == "team:core:week"
    applied = run("apply", str(path), "--prune")
    assert (
        applied.exit_code == 0
        and applied.output.splitlines()[-1] == "3 create, 0 update, 1 remove, 0 unchanged"
    )
    path.write_text(BUDGET_FILE.replace("amount_usd: 25", "amount: 25"))
    bad_file = run("apply", str(path))
    assert bad_file.exit_code == 1 and f"{path}:13:5: budgets[2]: unknown key 'amount'" in bad_file.output
    assert run("apply", str(tmp_path / "nope.yaml")).exit_code == 1


def test_cli_without_a_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        budget_group, ["list", "--database-url", "postgresql://127.0.0.1:1/none?connect_timeout=1"]
    )
    assert result.exit_code == 1 and "cannot connect to the database" in result.output


def test_the_budget_group_is_a_command_of_agent_spend() -> None:
    from bridge.cli import main

    assert main.commands["budget"] is budget_group


# --- the lab's seeded budgets -----------------------------------------------------------------


@pytest.mark.parametrize(
    "now",
    [
        datetime(2025, 3, 12, 6, 0, tzinfo=UTC),  # a Wednesday morning
        datetime(2025, 3, 30, 23, 30, tzinfo=UTC),  # a Sunday night at the end of a month
        datetime(2025, 3, 1, 0, 20, tzinfo=UTC),  # the first minutes of a month
        datetime(2026, 12, 1, 6, 30, tzinfo=UTC),  # a Tuesday morning on the 1st: only the day is past 20 %
    ],
)
def test_the_seeded_budgets_have_the_status_they_are_sized_for(database_url: str, now: datetime) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for hours in range(0, 24 * 20, 5):  # 20 days of spend up to now, three teams, four people, two repos
            ts = now - timedelta(hours=hours, minutes=3)
            spend(conn, ts, 3, user="ann@x", team="core", repo="acme/app")
            spend(conn, ts, 2, user="bob@x", team="data", repo="acme/lib")
            spend(conn, ts, 1, user="cy@x", team="data", repo=None)
            spend(conn, ts, 1, user="unknown", team="unknown", repo=None)
    seeded = seed_budgets(database_url, now)
    assert seeded.status == EXPECTED
    again = seed_budgets(database_url, now + timedelta(minutes=5))  # seeding again: new versions, same names
    assert again.status == EXPECTED
    assert {c.action for c in again.changes} <= {"update", "unchanged"}
    with psycopg.connect(database_url) as conn:
        fired = conn.execute(
            "SELECT subject FROM alert_budget_projected(%s)", (now + timedelta(minutes=5),)
        ).fetchall()
    # The projected alert fires once a fifth of the period has passed; every instant above has
    # such a period (1 March 2025 is a Saturday: the week), and the seed picks one.
    assert ("seed-developer-projected",) in fired
