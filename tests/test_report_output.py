"""`agent-spend report ...` beyond the figures: chargeback with and without billing lines, the
three formats (aligned table with totals, JSON, CSV) and the command line with its errors,
over the calls of tests/support/report_calls.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from bridge.admin import reports
from bridge.admin.report_format import exact_usd, render_csv, render_json, render_table, round_usd
from bridge.cli import main
from tests.support.report_calls import CALLS, NOW, expected, insert_report_calls
from tests.support.rollups import call, insert_calls


@pytest.fixture
def db(database_url: str) -> str:
    return insert_report_calls(database_url)


def _insert_bill(conn: psycopg.Connection[Any], provider: str, day: date, model: str, usd: str) -> None:
    conn.execute(
        "INSERT INTO billing_lines (provider, report, day, model, cost_usd) VALUES (%s, 'cost', %s, %s, %s)",
        (provider, day, model, Decimal(usd)),
    )


def test_chargeback_without_billing_lines(db: str) -> None:
    with psycopg.connect(db) as conn:
        report = reports.chargeback_report(conn, "2026-11", "team")
    want = expected(None, date(2026, 11, 1), date(2026, 11, 30), "team", {})
    assert {
        r.cost_centre: (r.calls, r.cost_usd, r.list_cost_usd, r.reported_cost_usd) for r in report.rows
    } == {
        k: (v["calls"], v["cost_usd"], v["list_cost_usd"], v["reported_cost_usd"])
        for (_, k), v in want.items()
    }
    assert all(r.billed_usd is None for r in report.rows) and report.total.billed_usd is None
    seat = sum(
        (c["list_cost_usd"] for c in CALLS if c["cost_estimation"] == "subscription" and c["ts"].month == 11),
        Decimal(0),
    )
    assert report.total.seat_list_cost_usd == seat
    assert "no billed dollars" in render_table(report)


def test_chargeback_allocates_bills_by_list_cost(db: str) -> None:
    day = date(2026, 11, 20)
    metered = [
        c for c in CALLS
        if c["ts"].date() == day and c["provider"] == "anthropic" and c["model"] == "claude-sonnet-4-5"
        and c["cost_estimation"] != "subscription"
    ]  # fmt: skip
    with psycopg.connect(db, autocommit=True) as conn:
        # A day with metered telemetry of several repositories, and a model nobody saw.
        conn.execute("DELETE FROM agent_spend_logs WHERE ts::date = %s AND provider = 'anthropic'", (day,))
        insert_calls(conn, [
            call("bill-a", datetime(2026, 11, 20, 9, tzinfo=UTC), workspace_repo="pay-api", team="payments",
                 list_cost_usd=Decimal("3"), total_cost_usd=Decimal("3")),
            call("bill-b", datetime(2026, 11, 20, 10, tzinfo=UTC), workspace_repo="infra", team="platform",
                 list_cost_usd=Decimal("1"), total_cost_usd=Decimal("1")),
            call("bill-seat", datetime(2026, 11, 20, 11, tzinfo=UTC), workspace_repo="infra", team="platform",
                 list_cost_usd=Decimal("50"), total_cost_usd=Decimal("0"), cost_estimation="subscription"),
        ])  # fmt: skip
        _insert_bill(conn, "anthropic", day, "claude-sonnet-4-5", "8.40")
        _insert_bill(conn, "anthropic", day, "claude-opus-4-1", "2.25")
        by_repo = reports.chargeback_report(conn, "2026-11", "repo")
        by_team = reports.chargeback_report(conn, "2026-11", "team")
    del metered
    billed = {r.cost_centre: r.billed_usd for r in by_repo.rows}
    assert billed["pay-api"] == Decimal("6.30") and billed["infra"] == Decimal("2.10")
    assert billed[reports.UNATTRIBUTED] == Decimal("2.25")
    assert billed["(none)"] == 0  # billed dollars exist this month: a centre without a share has 0
    assert by_repo.rows[-1].cost_centre == reports.UNATTRIBUTED
    assert by_repo.total.billed_usd == by_team.total.billed_usd == Decimal("10.65")
    teams = {r.cost_centre: r.billed_usd for r in by_team.rows}
    assert teams["payments"] == Decimal("6.30") and teams["platform"] == Decimal("2.10")
    table = render_table(by_team)
    assert "10.65" in table and "(unattributed)" in table


# -- formats ----------------------------------------------------------------------------------


def test_table_is_aligned_with_a_totals_row(db: str) -> None:
    with psycopg.connect(db) as conn:
        report = reports.monthly_report(conn, date(2026, 9, 1), date(2026, 12, 3), "team")
    lines = render_table(report).splitlines()
    assert lines[0].startswith("Monthly spend by team, UTC days 2026-09-01 .. 2026-12-03")
    header, rule, *body = lines[2:]
    assert header.split()[:3] == ["period", "team", "calls"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert body[-2] == rule and body[-1].startswith("total")
    assert len({len(line) for line in [header, rule, *body]}) == 1, "figures right-aligned to one width"
    cost_at = header.index("cost $") + len("cost $")
    assert body[-1][:cost_at].endswith(f"{round_usd(report.total.cost_usd):,}")
    assert body[0].startswith("2026-12  ")


def test_dollars_round_half_up_in_tables_and_stay_exact_in_json_and_csv(db: str) -> None:
    with psycopg.connect(db) as conn:
        only = reports.Filters(user=("ana@example.com",), team=("payments",))
        report = reports.daily_report(conn, date(2026, 11, 30), date(2026, 11, 30), "user", only)
    edge = next(r for r in report.rows if r.cost_usd == Decimal("1.005"))
    assert edge.cost_usd == Decimal("1.005")
    assert round_usd(Decimal("1.005")) == Decimal("1.01") and round_usd(Decimal("2.675")) == Decimal("2.68")
    assert " 1.01 " in render_table(report) + " "
    doc = json.loads(render_json(report))
    assert doc["rows"][0]["cost_usd"] == "1.005" and doc["total"]["cost_usd"] == "1.005"
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert rows[0]["cost_usd"] == "1.005" and rows[0]["period"] == "2026-11-30"
    assert exact_usd(Decimal("0E-10")) == "0" and exact_usd(Decimal("12.3400")) == "12.34"


def test_json_and_csv_carry_every_figure(db: str) -> None:
    since, until = date(2026, 10, 1), date(2026, 11, 29)
    with psycopg.connect(db) as conn:
        report = reports.weekly_report(conn, since, until, "provider")
    doc = json.loads(render_json(report))
    assert doc["report"] == "weekly" and doc["grain"] == "week" and doc["by"] == "provider"
    assert doc["since"] == "2026-10-01" and doc["filters"] == {}
    first_week = [r for r in doc["rows"] if r["period"] == "2026-W40"]
    assert first_week and all(
        r["period_start"] == "2026-10-01" and r["period_end"] == "2026-10-04" for r in first_week
    )
    assert sum(Decimal(r["cost_usd"]) for r in doc["rows"]) == Decimal(doc["total"]["cost_usd"])
    assert doc["total"]["calls"] == report.total.calls and isinstance(doc["total"]["calls"], int)
    parsed = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert list(parsed[0]) == [
        "period", "period_start", "period_end", "provider", "calls", "error_calls", "unpriced_calls",
        "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "total_tokens",
        "cost_usd", "list_cost_usd", "reported_cost_usd",
    ]  # fmt: skip
    assert len(parsed) == len(report.rows)  # no totals line
    assert sum(Decimal(r["list_cost_usd"]) for r in parsed) == report.total.list_cost_usd


# -- the command line -------------------------------------------------------------------------


def _cli(db: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["report", *args, "--database-url", db], catch_exceptions=False)


def test_cli_monthly_by_team_csv(db: str) -> None:
    result = _cli(db, "monthly", "--by", "team", "--format", "csv", "--now", NOW)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    want = expected("month", date(2026, 10, 1), date(2026, 12, 3), "team", {})
    assert {
        (date.fromisoformat(r["period_start"]).replace(day=1), r["team"]): Decimal(r["cost_usd"])
        for r in rows
    } == {k: v["cost_usd"] for k, v in want.items()}


@pytest.mark.parametrize("command", ["daily", "weekly", "monthly", "sessions"])
def test_cli_every_report_in_every_format(db: str, command: str) -> None:
    for fmt in ("table", "json", "csv"):
        result = _cli(
            db,
            command,
            "--format",
            fmt,
            "--now",
            NOW,
            "--since",
            "2026-10-01",
            "--team",
            "platform",
            "--team",
            "data",
        )
        assert result.exit_code == 0, result.output
        if fmt == "json":
            assert json.loads(result.output)["filters"] == {"team": ["platform", "data"]}
        elif fmt == "csv":
            assert next(csv.reader(io.StringIO(result.output)))
        else:
            assert "total" in result.output


def test_cli_chargeback_defaults_to_the_previous_month(db: str) -> None:
    result = _cli(db, "chargeback", "--format", "json", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["month"] == "2026-11"
    repo = _cli(db, "chargeback", "--month", "2026-11", "--by", "repo")
    assert repo.exit_code == 0 and "Chargeback by repo, 2026-11" in repo.output


def test_cli_budgets(db: str) -> None:
    result = _cli(db, "budgets", "--format", "json", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["report"] == "budgets"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["daily", "--since", "2026-12-05", "--until", "2026-12-01"], "--until"),
        (["daily", "--by", "colour"], "--by"),
        (["sessions", "--by", "model"], "--by"),
        (["chargeback", "--month", "2026-13"], "--month"),
        (["chargeback", "--by", "user"], "--by"),
        (["monthly", "--format", "xml"], "--format"),
    ],
)
def test_cli_errors_name_the_option(db: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["report", *args, "--database-url", db, "--now", NOW])
    assert result.exit_code == 2, result.output
    assert message in result.output
