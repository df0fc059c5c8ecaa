"""The read side of reconciliation: billed beside telemetry, against figures computed by hand.

Billing lines are written directly; telemetry goes through agent_spend_logs and its rollup
triggers (tests/support/rollups.py), so every figure is read the way the dashboard and
`reconcile status` read it. The scenario is tests/support/reconcile_scenario.py; a database
seeded through the bridge, as `make seed` does: tests/test_reconcile_seeded_lab.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from bridge.cli.reconcile_status import status_command
from tests.support.reconcile_scenario import (
    ANA,
    BOB,
    CAROL,
    D0,
    D1,
    D2,
    FROM,
    HAIKU,
    OPUS,
    SONNET,
    TO,
    bill,
    call_on,
    insert_scenario,
    tokens,
)
from tests.support.rollups import insert_calls


def _rows(conn: psycopg.Connection[Any], query: str, *params: Any) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(query, params).fetchall()


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("SET TIME ZONE 'Asia/Tokyo'")  # days are UTC whatever the session says
        yield connection


@pytest.fixture
def scenario(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """The scenario of tests/support/reconcile_scenario.py in this test's database."""
    insert_scenario(conn)
    return conn


def _days(
    conn: psycopg.Connection[Any], start: datetime = FROM, end: datetime = TO
) -> dict[tuple[Any, ...], Any]:
    return {
        (r["provider"], r["day"], r["model"]): r
        for r in _rows(conn, "SELECT * FROM reconcile_days(%s, %s)", start, end)
    }


def test_coverage_per_provider_day_and_model(scenario: psycopg.Connection[Any]) -> None:
    days = _days(scenario)
    assert set(days) == {
        ("anthropic", D0, SONNET),
        ("anthropic", D1, SONNET),
        ("anthropic", D2, HAIKU),
        ("anthropic", D2, OPUS),
        ("openai", D1, "gpt-5"),
    }  # no gemini: nothing billed; no D3: after the billed period
    d1 = days[("anthropic", D1, SONNET)]
    # Billed: usage lines only (1500+500 + 9000+3000 + 1000+500 + 3500+1000); dollars: cost lines.
    assert (d1["tokens_report"], d1["usd_report"]) == ("usage", "cost")
    assert (
        d1["billed_input_tokens"],
        d1["billed_cache_read_tokens"],
        d1["billed_cache_write_tokens"],
        d1["billed_output_tokens"],
        d1["billed_tokens"],
        d1["billed_usd"],
    ) == (2000, 12000, 1500, 4500, 20000, Decimal("0.10"))
    # Telemetry: the two metered calls (1000+6000+1000+2000 + 500+3000+0+1500), seat plan apart.
    assert (
        d1["telemetry_calls"],
        d1["telemetry_tokens"],
        d1["telemetry_cost_usd"],
        d1["telemetry_list_usd"],
        d1["telemetry_reported_usd"],
    ) == (2, 15000, Decimal("0.08"), Decimal("0.08"), Decimal("0.05"))
    assert (d1["seat_calls"], d1["seat_tokens"], d1["seat_list_usd"]) == (1, 4000, Decimal("0.02"))
    assert d1["coverage_tokens_ratio"] == Decimal(15000) / Decimal(20000) == Decimal("0.75")
    assert d1["coverage_usd_ratio"] == Decimal("0.08") / Decimal("0.10")
    assert (d1["unseen_tokens"], d1["unseen_usd"], d1["unbilled_tokens"], d1["unbilled_usd"]) == (
        5000,
        Decimal("0.02"),
        0,
        0,
    )

    # Fallbacks: D0 only has Claude Code analytics (8,000 tokens, $0.04) against 4,000 / $0.02.
    d0 = days[("anthropic", D0, SONNET)]
    assert (d0["tokens_report"], d0["usd_report"], d0["billed_tokens"], d0["billed_usd"]) == (
        "claude_code",
        "claude_code",
        8000,
        Decimal("0.04"),
    )
    assert (d0["coverage_tokens_ratio"], d0["coverage_usd_ratio"]) == (Decimal("0.5"), Decimal("0.5"))
    gpt = days[("openai", D1, "gpt-5")]
    assert (gpt["tokens_report"], gpt["usd_report"], gpt["billed_tokens"], gpt["billed_usd"]) == (
        "csv_usage",
        "csv_cost",
        4000,
        Decimal("0.025"),
    )
    assert gpt["coverage_tokens_ratio"] == Decimal("0.75") and gpt["coverage_usd_ratio"] == Decimal("0.8")

    # A day and model billed with no telemetry, and the reverse.
    haiku, opus = days[("anthropic", D2, HAIKU)], days[("anthropic", D2, OPUS)]
    assert (haiku["billed_tokens"], haiku["telemetry_tokens"], haiku["coverage_tokens_ratio"]) == (7000, 0, 0)
    assert (haiku["unseen_tokens"], haiku["unseen_usd"]) == (7000, Decimal("0.04"))
    assert (opus["billed_tokens"], opus["billed_usd"], opus["telemetry_tokens"]) == (0, 0, 2000)
    assert opus["coverage_tokens_ratio"] is None and opus["coverage_usd_ratio"] is None  # nothing billed
    assert (opus["unbilled_tokens"], opus["unbilled_usd"]) == (2000, Decimal("0.10"))


def test_the_range_covers_the_utc_days_it_touches(scenario: psycopg.Connection[Any]) -> None:
    one_day = _days(scenario, datetime(2025, 6, 15, tzinfo=UTC), datetime(2025, 6, 16, tzinfo=UTC))
    assert {key[1] for key in one_day} == {D1}  # ending at midnight leaves the next day out
    partial = _days(scenario, datetime(2025, 6, 15, 23, tzinfo=UTC), datetime(2025, 6, 16, 1, tzinfo=UTC))
    assert {key[1] for key in partial} == {D1, D2}  # whole days: both calls of D1 count
    assert partial[("anthropic", D1, SONNET)]["telemetry_tokens"] == 15000
    assert _days(scenario, FROM, FROM + timedelta(days=1)).keys() == {("anthropic", D0, SONNET)}


def test_totals(scenario: psycopg.Connection[Any]) -> None:
    totals = {r["provider"]: r for r in _rows(scenario, "SELECT * FROM reconcile_totals(%s, %s)", FROM, TO)}
    anthropic, both = totals["anthropic"], totals["all providers"]
    # Billed 8000 + 20000 + 7000 + 0 tokens, $0.04 + 0.10 + 0.04; seen 4000 + 15000 + 0 + 2000, $0.20.
    assert (anthropic["days"], anthropic["billed_tokens"], anthropic["telemetry_tokens"]) == (3, 35000, 21000)
    assert anthropic["coverage_tokens_ratio"] == Decimal("0.6")
    assert anthropic["coverage_usd_ratio"] == pytest.approx(
        Decimal("0.20") / Decimal("0.18"), rel=Decimal("1e-15")
    )
    assert (anthropic["unseen_tokens"], anthropic["unseen_usd"]) == (4000 + 5000 + 7000, Decimal("0.08"))
    assert both["coverage_tokens_ratio"] == pytest.approx(
        Decimal(24000) / Decimal(39000), rel=Decimal("1e-15")
    )
    assert both["billed_usd"] == Decimal("0.205") and both["telemetry_cost_usd"] == Decimal("0.22")


def test_per_user(scenario: psycopg.Connection[Any]) -> None:
    users = {
        (r["day"], r["user_id"]): r
        for r in _rows(scenario, "SELECT * FROM reconcile_users(%s, %s)", FROM, TO)
    }
    assert set(users) == {(D0, ANA), (D1, ANA), (D1, BOB), (D1, CAROL)}  # the days a report names users
    ana = users[(D1, ANA)]
    assert (ana["report"], ana["billed_tokens"], ana["telemetry_tokens"], ana["coverage_tokens_ratio"]) == (
        "claude_code",
        15000,
        15000,
        1,
    )
    assert ana["coverage_usd_ratio"] == pytest.approx(
        Decimal("0.08") / Decimal("0.09"), rel=Decimal("1e-15")
    )  # list value / estimate
    bob = users[(D1, BOB)]  # seat-plan user the report does not list
    assert (bob["billed_tokens"], bob["telemetry_tokens"], bob["coverage_tokens_ratio"]) == (0, 4000, None)
    carol = users[(D1, CAROL)]
    assert (carol["billed_tokens"], carol["billed_usd"], carol["telemetry_tokens"]) == (
        3000,
        Decimal("0.01"),
        0,
    )
    assert users[(D0, ANA)]["coverage_tokens_ratio"] == Decimal("0.5")
    only_carol = _rows(
        scenario, "SELECT user_id FROM reconcile_users(%s, %s, '{__all}', %s)", FROM, TO, [CAROL]
    )
    assert only_carol == [{"user_id": CAROL}]


def test_unmonitored_and_unbilled(scenario: psycopg.Connection[Any]) -> None:
    unmonitored = {
        (r["provider"], r["kind"], r["who"], r["model"]): r
        for r in _rows(scenario, "SELECT * FROM reconcile_unmonitored(%s, %s)", FROM, TO)
    }
    as_tuples = {k: (r["days"], r["unseen_tokens"], r["unseen_usd"]) for k, r in unmonitored.items()}
    assert as_tuples == {
        ("anthropic", "api key or account", "key-b", HAIKU): (1, 7000, Decimal("0.04")),
        ("anthropic", "user", CAROL, SONNET): (1, 3000, Decimal("0.01")),
        # D1: 5,000 unseen - carol's 3,000; D0: 4,000 (ana has telemetry there).
        ("anthropic", "partly seen", "(not attributable)", SONNET): (
            2,
            2000 + 4000,
            Decimal("0.01") + Decimal("0.02"),
        ),
        ("openai", "partly seen", "(not attributable)", "gpt-5"): (1, 1000, Decimal("0.005")),
    }
    total = _rows(scenario, "SELECT sum(unseen_tokens) AS t FROM reconcile_days(%s, %s)", FROM, TO)[0]["t"]
    assert sum(r[1] for r in as_tuples.values()) == total  # disjoint rows
    unbilled = {
        (r["provider"], r["reason"], r["model"]): (
            r["days"],
            r["telemetry_calls"],
            r["unbilled_tokens"],
            r["unbilled_usd"],
        )
        for r in _rows(scenario, "SELECT * FROM reconcile_unbilled(%s, %s)", FROM, TO)
    }
    assert unbilled == {
        ("anthropic", "seat plan", SONNET): (1, 1, 4000, Decimal("0.02")),
        ("anthropic", "no bill", OPUS): (1, 1, 2000, Decimal("0.10")),
    }


def test_a_provider_without_a_dollar_report_is_not_compared_in_dollars(conn: psycopg.Connection[Any]) -> None:
    insert_calls(
        conn,
        [
            call_on(
                D1,
                model="gpt-5",
                provider="openai",
                total_cost_usd=Decimal("0.02"),
                **tokens(1000, 0, 0, 1000),
            )
        ],
    )
    bill(
        conn,
        {"provider": "openai", "report": "usage", "day": D1, "model": "gpt-5", **tokens(1000, 0, 0, 3000)},
    )
    (row,) = _days(conn).values()
    assert (row["billed_tokens"], row["coverage_tokens_ratio"]) == (4000, Decimal("0.5"))
    assert (row["billed_usd"], row["coverage_usd_ratio"], row["unseen_usd"], row["unbilled_usd"]) == (
        None,
    ) * 4
    assert _rows(conn, "SELECT * FROM reconcile_unbilled(%s, %s)", FROM, TO) == []


def test_empty_tables(conn: psycopg.Connection[Any]) -> None:
    insert_calls(conn, [call_on(D1, total_cost_usd=Decimal("0.02"), **tokens(1000, 0, 0, 1000))])
    for function in ("reconcile_days", "reconcile_users", "reconcile_unmonitored", "reconcile_unbilled"):
        assert _rows(conn, f"SELECT * FROM {function}(%s, %s)", FROM, TO) == [], function
    (total,) = _rows(conn, "SELECT * FROM reconcile_totals(%s, %s)", FROM, TO)
    assert total["provider"] == "all providers" and total["days"] == 0 and total["coverage_usd_ratio"] is None
    result = CliRunner().invoke(
        status_command, ["--database-url", conn.info.dsn, "--since", "2025-06-14", "--until", "2025-06-17"]
    )
    assert result.exit_code == 0, result.output
    assert "No billed days in this range" in result.output


def test_status_command(scenario: psycopg.Connection[Any]) -> None:
    args = ["--database-url", scenario.info.dsn, "--since", "2025-06-14", "--until", "2025-06-17"]
    result = CliRunner().invoke(status_command, [*args, "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    day = next(d for d in figures["days"] if d["day"] == "2025-06-15" and d["provider"] == "anthropic")
    assert (day["billed_tokens"], day["telemetry_tokens"], day["coverage_tokens_ratio"]) == (
        20000,
        15000,
        0.75,
    )
    assert figures["totals"][-1]["provider"] == "all providers"
    assert figures["totals"][0]["coverage_tokens_ratio"] == 0.6
    assert figures["sync"] == [
        {
            "provider": "anthropic",
            "report": "usage",
            "complete_through": "2025-06-16",
            "last_pulled_at": None,
            "last_error": None,
            "last_day_with_lines": "2025-06-16",
        }
    ]
    text = CliRunner().invoke(status_command, args)
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("provider       days"))
    assert lines[header + 2].split()[:8] == [
        "anthropic",
        "3",
        "0.18",
        "0.20",
        "111.1",
        "%",
        "35,000",
        "21,000",
    ]
    assert lines[header + 4].startswith("all providers")
    widths = {len(line) for line in lines[header : header + 5]}
    assert len(widths) == 1, "the totals table is aligned"
    bad = CliRunner().invoke(status_command, [*args[:2], "--since", "2025-06-17", "--until", "2025-06-14"])
    assert bad.exit_code == 2
