"""The calls the report tests insert, and the oracle: the same figures computed in Python.

tests/test_reports.py (figures, periods, filters) and tests/test_report_output.py (chargeback,
formats, the command line) read one set of calls, inserted through the rollup triggers
(tests/support/rollups.py), and compare every report with `expected`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from bridge.admin import reports
from tests.support.rollups import call, insert_calls

NOW = "2026-12-03T10:00:00+00:00"
TEAMS = ("payments", "platform", "data")
USERS = ("ana@example.com", "bo@example.com", "cy@example.com", "ci-bot")
MODELS = (("claude-sonnet-4-5", "anthropic"), ("gpt-5", "openai"), ("gemini-2.5-pro", "google"))
REPOS = ("pay-api", "infra", None)
HARNESSES = ("claude-code", "codex", "gemini-cli")


def _calls() -> list[dict[str, Any]]:
    """70 calls from 2026-09-25 to 2026-12-02, plus calls on the edges of days and months."""
    rng = random.Random(11)
    start = datetime(2026, 9, 25, tzinfo=UTC)
    out = []
    for n in range(70):
        model, provider = rng.choice(MODELS)
        user = rng.choice(USERS)
        seat = rng.random() < 0.15
        unpriced = not seat and rng.random() < 0.1
        listed = Decimal(rng.randint(1, 500_000)) / Decimal(100_000)
        out.append(
            call(
                f"c{n}",
                start + timedelta(minutes=rng.randint(0, 68 * 24 * 60)),
                user_id=user,
                team=rng.choice(TEAMS),
                model=model,
                provider=provider,
                harness_name=rng.choice(HARNESSES),
                workspace_repo=rng.choice(REPOS),
                workspace_is_ci=user == "ci-bot",
                environment=rng.choice(("prod", "dev")),
                cost_estimation="subscription" if seat else "metered",
                input_tokens=rng.randint(0, 5000),
                output_tokens=rng.randint(0, 2000),
                cache_read_tokens=rng.randint(0, 9000),
                cache_write_tokens=rng.randint(0, 900),
                total_cost_usd=None if unpriced else (Decimal(0) if seat else listed),
                list_cost_usd=None if unpriced else listed,
                reported_cost_usd=None if seat or unpriced else listed * Decimal("0.9"),
                session_id=f"s{n % 9}",
            )
        )
    edges = [  # the last microsecond of October, midnight of November's first and last days
        datetime(2026, 10, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    ]
    for n, ts in enumerate(edges):
        out.append(
            call(
                f"edge{n}",
                ts,
                total_cost_usd=Decimal("1.005"),
                list_cost_usd=Decimal("1.005"),
                output_tokens=7,
            )
        )
    return out


CALLS = _calls()


def insert_report_calls(database_url: str) -> str:
    """CALLS inserted into the database (through the rollup triggers); its URL, for a fixture."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert insert_calls(conn, CALLS) == len(CALLS)
    return database_url


# -- the oracle: the same figures computed in Python from the inserted calls -------------------

FILTER_COLUMNS = {
    "environment": "environment",
    "team": "team",
    "user": "user_id",
    "model": "model",
    "harness": "harness_name",
    "repo": "workspace_repo",
}
BY_COLUMNS = {**FILTER_COLUMNS, "provider": "provider"}


def _value(c: dict[str, Any], dimension: str) -> str:
    value = c[BY_COLUMNS[dimension]]
    return "(none)" if dimension == "repo" and not value else value


def _period(day: date, grain: str | None, since: date) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day if grain == "day" else since


def expected(
    grain: str | None, since: date, until: date, by: str | None, filters: dict[str, tuple[str, ...]]
) -> dict[tuple[date, str | None], dict[str, Any]]:
    out: dict[tuple[date, str | None], dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "total_tokens": 0, "cost_usd": Decimal(0), "list_cost_usd": Decimal(0),
                 "reported_cost_usd": Decimal(0), "unpriced_calls": 0}
    )  # fmt: skip
    for c in CALLS:
        day = c["ts"].astimezone(UTC).date()
        if not since <= day <= until:
            continue
        if any(values and _value(c, name) not in values for name, values in filters.items()):
            continue
        cell = out[(_period(day, grain, since), _value(c, by) if by else None)]
        cell["calls"] += 1
        cell["total_tokens"] += sum(c[k] for k in ("input_tokens", "output_tokens", "cache_read_tokens",
                                                    "cache_write_tokens"))  # fmt: skip
        cell["cost_usd"] += c["total_cost_usd"] or 0
        cell["list_cost_usd"] += c["list_cost_usd"] or 0
        cell["reported_cost_usd"] += c["reported_cost_usd"] or 0
        cell["unpriced_calls"] += c["total_cost_usd"] is None
    return dict(out)


def got(report: reports.SpendReport) -> dict[tuple[date, str | None], dict[str, Any]]:
    return {
        (r.period or report.since, r.key): {
            "calls": r.calls, "total_tokens": r.total_tokens, "cost_usd": r.cost_usd,
            "list_cost_usd": r.list_cost_usd, "reported_cost_usd": r.reported_cost_usd,
            "unpriced_calls": r.unpriced_calls,
        }
        for r in report.rows
    }  # fmt: skip
