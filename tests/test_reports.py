"""`agent-spend report ...`: every report's figures against a hand computation over inserted calls
(tests/support/report_calls.py), for each period, --by and filter; the day a midnight belongs
to; summaries and sessions. Chargeback, the formats and the CLI: tests/test_report_output.py."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from bridge.admin import report_periods, reports
from tests.support.report_calls import CALLS, expected, got, insert_report_calls


@pytest.fixture
def db(database_url: str) -> str:
    return insert_report_calls(database_url)


CASES = [
    ("daily", date(2026, 11, 25), date(2026, 12, 2)),
    ("weekly", date(2026, 10, 1), date(2026, 11, 29)),  # starts on a Thursday: a cut first week
    ("monthly", date(2026, 9, 1), date(2026, 12, 3)),
    ("monthly", date(2026, 11, 1), date(2026, 11, 30)),
]


@pytest.mark.parametrize(("kind", "since", "until"), CASES)
@pytest.mark.parametrize("by", [None, *reports.DIMENSIONS])
def test_spend_reports_equal_the_hand_computation(
    db: str, kind: str, since: date, until: date, by: str | None
) -> None:
    with psycopg.connect(db) as conn:
        report = reports.spend_report(conn, kind, since, until, by)  # type: ignore[arg-type]
    assert got(report) == expected(reports.GRAINS[kind], since, until, by, {})
    assert report.total.calls == sum(r.calls for r in report.rows)
    assert report.total.cost_usd == sum(r.cost_usd for r in report.rows)


FILTERS = [
    {"team": ("payments",)},
    {"user": ("ana@example.com", "ci-bot")},
    {"model": ("gpt-5",), "environment": ("prod",)},
    {"harness": ("codex",)},
    {"repo": ("(none)",)},
    {"repo": ("pay-api",), "team": ("data", "platform")},
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f))
@pytest.mark.parametrize("by", ["team", "user", "model", "repo", "provider"])
def test_filters_read_the_right_rollup_and_agree(
    db: str, filters: dict[str, tuple[str, ...]], by: str
) -> None:
    since, until = date(2026, 9, 1), date(2026, 12, 3)
    with psycopg.connect(db) as conn:
        report = reports.monthly_report(conn, since, until, by, reports.Filters(**filters))
    assert got(report) == expected("month", since, until, by, filters)
    assert report.rows, "the sample must select something"


def test_midnight_belongs_to_the_day_it_starts(db: str) -> None:
    with psycopg.connect(db) as conn:
        november = reports.summary(conn, date(2026, 11, 1), date(2026, 11, 30))
        edge_days = reports.daily_report(conn, date(2026, 10, 31), date(2026, 12, 1), "user")
    assert (
        november.total.calls
        == expected(None, date(2026, 11, 1), date(2026, 11, 30), None, {})[(date(2026, 11, 1), None)]["calls"]
    )
    assert sum(r.calls for r in edge_days.rows) == sum(
        1 for c in CALLS if date(2026, 10, 31) <= c["ts"].date() <= date(2026, 12, 1)
    )


def test_summary_and_breakdown(db: str) -> None:
    since, until = date(2026, 11, 4), date(2026, 12, 3)
    with psycopg.connect(db) as conn:
        total = reports.summary(conn, since, until)
        per_model = reports.breakdown(conn, since, until, "model")
    assert len(total.rows) == 1 and total.rows[0].period is None and total.rows[0].key is None
    assert (
        total.total.cost_usd
        == per_model.total.cost_usd
        == expected(None, since, until, None, {})[(since, None)]["cost_usd"]
    )
    assert [r.cost_usd for r in per_model.rows] == sorted((r.cost_usd for r in per_model.rows), reverse=True)


# -- sessions ---------------------------------------------------------------------------------


def test_sessions_list_and_groups(db: str) -> None:
    since, until = date(2026, 11, 1), date(2026, 11, 30)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = datetime(2026, 12, 1, tzinfo=UTC)
    sessions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in CALLS:
        if c["session_id"]:
            sessions[c["session_id"]].append(c)
    active = {
        s: cs
        for s, cs in sessions.items()
        if max(c["ts"] for c in cs) >= start and min(c["ts"] for c in cs) < end
    }
    cost = {s: sum((c["total_cost_usd"] or Decimal(0) for c in cs), Decimal(0)) for s, cs in active.items()}
    with psycopg.connect(db) as conn:
        listed = reports.sessions_report(conn, since, until, limit=3)
        everything = reports.sessions_report(conn, since, until, limit=None)
        by_user = reports.sessions_report(conn, since, until, "user")
    assert listed.total.sessions == len(active) and listed.total.cost_usd == sum(cost.values())
    assert [r.session_id for r in listed.rows] == sorted(cost, key=lambda s: (-cost[s], s))[:3]
    assert {r.session_id: r.turns for r in everything.rows if isinstance(r, reports.SessionRow)} == {
        s: len(cs) for s, cs in active.items()
    }
    assert by_user.total == listed.total
    assert sum(r.sessions for r in by_user.rows if isinstance(r, reports.SessionGroupRow)) == len(active)
    with psycopg.connect(db) as conn, pytest.raises(report_periods.ReportError) as bad:
        reports.sessions_report(conn, since, until, "model")
    assert bad.value.parameter == "by"


# -- chargeback -------------------------------------------------------------------------------
