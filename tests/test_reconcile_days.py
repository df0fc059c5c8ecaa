"""`agent-spend reconcile pull` against a local fake of each admin API (tests/support/fake_billing.py):
which days a pull covers and what it stores for them.

Exact dollars from each provider's unit, idempotency, a late-corrected day replaced (never
added to), the incremental resume and plan_days, and an empty org still advancing. How
the pull talks to the providers (pages, retries, keys) is test_reconcile_pull. Every
instant is passed as `now`; the client's sleep is a recorder, so no test waits.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from bridge.admin.reconcile import anthropic, openai
from bridge.admin.reconcile.pull import plan_days, pull, pull_report
from tests.support.fake_billing import FakeBilling
from tests.support.reconcile import LINES, NOW, TODAY, D, clients, usage_result


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def test_costs_are_exact_dollars_from_each_providers_unit(
    fake: FakeBilling, conn: psycopg.Connection, sleeps: list[float]
) -> None:
    # Anthropic cost_report: a decimal string in cents ("123.45" USD is $1.2345).
    fake.set_anthropic_cost(
        D[3],
        [
            {
                "amount": "123.45",
                "currency": "USD",
                "workspace_id": "wrkspc_01",
                "description": "Claude Sonnet 4.5 Usage - Input Tokens",
                "model": "claude-sonnet-4-5",
                "cost_type": "tokens",
                "token_type": "uncached_input_tokens",
                "service_tier": "standard",
                "context_window": "0-200k",
            },
            {
                "amount": "0.000001",
                "currency": "USD",
                "workspace_id": None,
                "description": "Web Search",
                "model": None,
                "cost_type": "web_search",
                "token_type": None,
                "service_tier": None,
                "context_window": None,
            },
        ],
    )
    # Claude Code analytics: estimated_cost.amount in cents, a number.
    fake.set_claude_code(
        D[3],
        [
            {
                "actor": {"type": "user_actor", "email_address": "dev@example.com"},
                "customer_type": "api",
                "model_breakdown": [
                    {
                        "model": "claude-sonnet-4-5",
                        "tokens": {
                            "input": 45230,
                            "output": 12450,
                            "cache_read": 8790,
                            "cache_creation": 2340,
                        },
                        "estimated_cost": {"amount": 186, "currency": "USD"},
                    }
                ],
            }
        ],
    )
    # OpenAI costs: amount.value in dollars, a JSON number read as Decimal.
    fake.set_openai_costs(
        D[3],
        [
            {
                "amount": {"value": 0.0600000000000000000001, "currency": "usd"},
                "line_item": "gpt-4o-2024-08-06, input",
                "project_id": "proj_abc",
            },
            {
                "amount": {"value": 2, "currency": "usd"},
                "line_item": "Image models",
                "project_id": "proj_abc",
            },
        ],
    )
    a, o = clients(fake, sleeps)
    with a, o:
        results = pull(
            conn,
            [anthropic.CostReport(a), anthropic.ClaudeCodeReport(a), openai.CostsReport(o)],
            now=NOW,
            since=D[3],
            until=D[3],
        )
    assert all(r.ok for r in results)
    costs = {
        (r[0], r[1], r[3], r[6]): (r[12], r[8:12])
        for r in conn.execute(LINES).fetchall()
    }  # fmt: skip
    assert costs[("anthropic", "cost", "claude-sonnet-4-5", "Claude Sonnet 4.5 Usage - Input Tokens")] == (
        Decimal("1.2345"),
        (0, 0, 0, 0),
    )
    assert costs[("anthropic", "cost", "", "Web Search")][0] == Decimal("0.00000001")
    assert costs[("anthropic", "claude_code", "claude-sonnet-4-5", "api")] == (
        Decimal("1.86"),
        (45230, 12450, 8790, 2340),
    )
    assert costs[("openai", "cost", "gpt-4o-2024-08-06", "gpt-4o-2024-08-06, input")][0] == Decimal("0.06")
    assert costs[("openai", "cost", "", "Image models")][0] == Decimal("2")
    user = conn.execute("SELECT user_ref FROM billing_lines WHERE report = 'claude_code'").fetchone()
    assert user == ("dev@example.com",)


def test_pulling_twice_gives_the_same_rows(
    fake: FakeBilling, conn: psycopg.Connection, sleeps: list[float]
) -> None:
    for day in D[0:10]:
        fake.set_anthropic_usage(day, [usage_result()])
        fake.set_openai_usage(
            day,
            [
                {
                    "input_tokens": 10,
                    "output_tokens": 1,
                    "input_cached_tokens": 0,
                    "num_model_requests": 1,
                    "model": "gpt-4o",
                }
            ],
        )
    a, o = clients(fake, sleeps)
    with a, o:
        sources = [anthropic.UsageReport(a), openai.UsageReport(o)]
        pull(conn, sources, now=NOW, since=D[0])
        before = conn.execute(LINES).fetchall()
        pull(conn, sources, now=NOW, since=D[0])
        assert conn.execute(LINES).fetchall() == before
    assert len(before) == 20


def test_a_late_correction_replaces_the_day_and_never_adds(
    fake: FakeBilling, conn: psycopg.Connection, sleeps: list[float]
) -> None:
    fake.set_anthropic_usage(D[12], [usage_result(), usage_result("claude-opus-4-1", "apikey_09")])
    fake.set_anthropic_usage(D[13], [usage_result()])
    client, _ = clients(fake, sleeps)
    with client:
        source = anthropic.UsageReport(client)
        first = pull_report(conn, source, now=NOW, since=D[10])
        assert first.complete_through == D[13]
        # The provider corrects June 13 (figures change, one line disappears) after our pull.
        fake.set_anthropic_usage(D[12], [usage_result(scale=3)])
        second = pull_report(conn, source, now=NOW + timedelta(days=1))
    # Resume: complete_through + 1 - 2 overlap days = June 13, so the corrected day is re-read.
    assert second.first == D[12] and second.last == D[14] + timedelta(days=1)
    rows = conn.execute("SELECT day, model, input_tokens FROM billing_lines ORDER BY day, model").fetchall()
    assert rows == [(D[12], "claude-sonnet-4-5", 300), (D[13], "claude-sonnet-4-5", 100)]


def test_resume_starts_after_the_last_complete_day_minus_the_overlap(
    fake: FakeBilling, conn: psycopg.Connection, sleeps: list[float]
) -> None:
    client, _ = clients(fake, sleeps)
    with client:
        source = anthropic.CostReport(client)
        first = pull_report(conn, source, now=NOW, first_run_days=5)
        assert (first.first, first.last, first.complete_through) == (D[9], TODAY, D[13])
        later = NOW + timedelta(days=3, hours=-11)  # June 18, 01:00
        second = pull_report(conn, source, now=later, overlap_days=1)
    assert (second.first, second.last, second.complete_through) == (
        D[13],
        date(2025, 6, 18),
        date(2025, 6, 17),
    )
    starts = [
        s.query["starting_at"][0] for s in fake.requests_to(anthropic.COST_PATH) if "page" not in s.query
    ]
    assert starts == ["2025-06-10T00:00:00Z", "2025-06-14T00:00:00Z"]


def test_plan_days_rules() -> None:
    assert plan_days(None, now=NOW, first_run_days=3) == (D[11], TODAY)
    assert plan_days(D[13], now=NOW) == (D[12], TODAY)
    assert plan_days(D[13], now=NOW, overlap_days=0) == (TODAY, TODAY)
    assert plan_days(D[13], now=NOW, since=D[0], until=D[1]) == (D[0], D[1])
    assert plan_days(D[13], now=NOW, until=TODAY + timedelta(days=9)) == (D[12], TODAY)
    assert plan_days(D[14], now=NOW, overlap_days=0) is None
    # The first minute of a month: the previous day has just closed.
    assert plan_days(None, now=datetime(2025, 7, 1, 0, 0, tzinfo=UTC), first_run_days=1) == (
        date(2025, 6, 30),
        date(2025, 7, 1),
    )


def test_an_empty_org_pulls_nothing_and_still_advances(
    fake: FakeBilling, conn: psycopg.Connection, sleeps: list[float]
) -> None:
    a, o = clients(fake, sleeps)
    with a, o:
        results = pull(conn, [*anthropic.sources(a), *openai.sources(o)], now=NOW, since=D[8])
    assert [(r.report, r.ok, r.lines, r.complete_through) for r in results] == [
        ("usage", True, 0, D[13]),
        ("cost", True, 0, D[13]),
        ("claude_code", True, 0, D[13]),
        ("usage", True, 0, D[13]),
        ("cost", True, 0, D[13]),
    ]
    assert conn.execute("SELECT count(*) FROM billing_lines").fetchone() == (0,)
