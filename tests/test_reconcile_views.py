"""The read side of reconciliation: billed beside telemetry, against figures computed by hand.

Billing lines are written directly; telemetry goes through agent_spend_logs and its rollup
triggers (tests/support/rollups.py), so every figure is read the way the dashboard and
`reconcile status` read it. The last tests seed a database through the bridge and
seeder/billing.py, as `make seed` does.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from bridge.admin.reconcile.status import reconcile_status
from bridge.cli.reconcile_status import status_command
from dashboards.reconcile import reconciliation
from seeder.billing import UNMONITORED_ACCOUNT, UNMONITORED_USER, seed_billing
from tests.support.bridge_process import seed_through_bridge
from tests.support.db import template_copy
from tests.support.grafana_sql import ALL, Variable, render, sql_targets
from tests.support.rollups import DEFAULTS, insert_calls

D0, D1, D2, D3 = date(2025, 6, 14), date(2025, 6, 15), date(2025, 6, 16), date(2025, 6, 17)
FROM, TO = datetime(2025, 6, 14, tzinfo=UTC), datetime(2025, 6, 18, tzinfo=UTC)
SONNET, OPUS, HAIKU = "claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"
ANA, BOB, CAROL = "ana@example.com", "bob@example.com", "carol@example.com"


def _call(day: date, hour: int = 12, **fields: Any) -> dict[str, Any]:
    ts = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return {**DEFAULTS, "dedup_key": f"k-{uuid.uuid4().hex}", "ts": ts, **fields}


def _tokens(i: int, cr: int, cw: int, o: int) -> dict[str, int]:
    return {"input_tokens": i, "cache_read_tokens": cr, "cache_write_tokens": cw, "output_tokens": o}


def _bill(conn: psycopg.Connection[Any], *lines: dict[str, Any]) -> None:
    for line in lines:
        values = {
            "account": "",
            "user_ref": "",
            "line_item": "",
            "input_tokens": 0,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "output_tokens": 0,
            "cost_usd": None,
            **line,
        }
        columns = sql.SQL(", ").join(map(sql.Identifier, values))
        params = sql.SQL(", ").join(sql.Placeholder() * len(values))
        conn.execute(
            sql.SQL("INSERT INTO billing_lines ({}) VALUES ({})").format(columns, params),
            list(values.values()),
        )


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
    """Four UTC days of telemetry and bills; the expected figures are worked out in each test."""
    insert_calls(
        conn,
        [
            # D0: only Claude Code analytics for anthropic (tokens and dollars fall back to it).
            _call(
                D0,
                user_id=ANA,
                model=SONNET,
                total_cost_usd=Decimal("0.02"),
                list_cost_usd=Decimal("0.02"),
                **_tokens(1000, 2000, 500, 500),
            ),
            # D1: two metered sonnet calls (15,000 tokens, $0.08), one seat-plan call (4,000 tokens).
            _call(
                D1,
                9,
                user_id=ANA,
                model=SONNET,
                total_cost_usd=Decimal("0.05"),
                list_cost_usd=Decimal("0.05"),
                reported_cost_usd=Decimal("0.05"),
                **_tokens(1000, 6000, 1000, 2000),
            ),
            _call(
                D1,
                23,
                user_id=ANA,
                model=SONNET,
                total_cost_usd=Decimal("0.03"),
                list_cost_usd=Decimal("0.03"),
                **_tokens(500, 3000, 0, 1500),
            ),
            _call(
                D1,
                user_id=BOB,
                model=SONNET,
                cost_estimation="subscription",
                total_cost_usd=Decimal(0),
                list_cost_usd=Decimal("0.02"),
                **_tokens(1000, 2000, 500, 500),
            ),
            # D1: openai gpt-5, 3,000 tokens, $0.02; a provider no bill is pulled for.
            _call(
                D1,
                user_id=ANA,
                model="gpt-5",
                provider="openai",
                harness_name="codex",
                total_cost_usd=Decimal("0.02"),
                list_cost_usd=Decimal("0.02"),
                **_tokens(2000, 0, 0, 1000),
            ),
            _call(
                D1,
                user_id=ANA,
                model="gemini-2.5-pro",
                provider="gcp.gemini",
                harness_name="gemini-cli",
                total_cost_usd=Decimal("0.50"),
                **_tokens(9000, 0, 0, 1000),
            ),
            # D2: opus telemetry the provider billed nothing for.
            _call(
                D2,
                user_id=ANA,
                model=OPUS,
                total_cost_usd=Decimal("0.10"),
                list_cost_usd=Decimal("0.10"),
                **_tokens(1000, 0, 0, 1000),
            ),
            # D3: after the last billed day (complete_through D2): compared with nothing.
            _call(D3, user_id=ANA, model=SONNET, total_cost_usd=Decimal("0.01"), **_tokens(500, 0, 0, 500)),
        ],
    )
    _bill(
        conn,
        {
            "provider": "anthropic",
            "report": "claude_code",
            "day": D0,
            "model": SONNET,
            "user_ref": ANA,
            **_tokens(2000, 4000, 1000, 1000),
            "cost_usd": Decimal("0.04"),
        },
        # D1 tokens: usage (key-a 15,000 + key-b 5,000), not csv_usage or claude_code; dollars: cost.
        {
            "provider": "anthropic",
            "report": "usage",
            "day": D1,
            "model": SONNET,
            "account": "key-a",
            **_tokens(1500, 9000, 1000, 3500),
        },
        {
            "provider": "anthropic",
            "report": "usage",
            "day": D1,
            "model": SONNET,
            "account": "key-b",
            **_tokens(500, 3000, 500, 1000),
        },
        {
            "provider": "anthropic",
            "report": "csv_usage",
            "day": D1,
            "model": SONNET,
            **_tokens(99_999, 0, 0, 0),
        },
        {
            "provider": "anthropic",
            "report": "cost",
            "day": D1,
            "model": SONNET,
            "account": "key-a",
            "line_item": "tokens",
            "cost_usd": Decimal("0.08"),
        },
        {
            "provider": "anthropic",
            "report": "cost",
            "day": D1,
            "model": SONNET,
            "account": "key-b",
            "line_item": "tokens",
            "cost_usd": Decimal("0.02"),
        },
        {
            "provider": "anthropic",
            "report": "claude_code",
            "day": D1,
            "model": SONNET,
            "user_ref": ANA,
            **_tokens(1500, 9000, 1000, 3500),
            "cost_usd": Decimal("0.09"),
        },
        {
            "provider": "anthropic",
            "report": "claude_code",
            "day": D1,
            "model": SONNET,
            "user_ref": CAROL,
            **_tokens(0, 2000, 500, 500),
            "cost_usd": Decimal("0.01"),
        },
        # D2: haiku on key-b only, which telemetry never saw; nothing for opus.
        {
            "provider": "anthropic",
            "report": "usage",
            "day": D2,
            "model": HAIKU,
            "account": "key-b",
            **_tokens(2000, 4000, 0, 1000),
        },
        {
            "provider": "anthropic",
            "report": "cost",
            "day": D2,
            "model": HAIKU,
            "account": "key-b",
            "cost_usd": Decimal("0.04"),
        },
        # openai D1 from the console's CSV exports.
        {
            "provider": "openai",
            "report": "csv_usage",
            "day": D1,
            "model": "gpt-5",
            **_tokens(2500, 0, 0, 1500),
        },
        {
            "provider": "openai",
            "report": "csv_cost",
            "day": D1,
            "model": "gpt-5",
            "cost_usd": Decimal("0.025"),
        },
    )
    conn.execute(
        "INSERT INTO billing_sync (provider, report, complete_through) VALUES ('anthropic', 'usage', %s)",
        (D2,),
    )
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
            _call(
                D1,
                model="gpt-5",
                provider="openai",
                total_cost_usd=Decimal("0.02"),
                **_tokens(1000, 0, 0, 1000),
            )
        ],
    )
    _bill(
        conn,
        {"provider": "openai", "report": "usage", "day": D1, "model": "gpt-5", **_tokens(1000, 0, 0, 3000)},
    )
    (row,) = _days(conn).values()
    assert (row["billed_tokens"], row["coverage_tokens_ratio"]) == (4000, Decimal("0.5"))
    assert (row["billed_usd"], row["coverage_usd_ratio"], row["unseen_usd"], row["unbilled_usd"]) == (
        None,
    ) * 4
    assert _rows(conn, "SELECT * FROM reconcile_unbilled(%s, %s)", FROM, TO) == []


def test_empty_tables(conn: psycopg.Connection[Any]) -> None:
    insert_calls(conn, [_call(D1, total_cost_usd=Decimal("0.02"), **_tokens(1000, 0, 0, 1000))])
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


# -- the seeded lab ------------------------------------------------------------------------

SEED_NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded_lab(server_url: str, template_db: str) -> Iterator[str]:
    """What `make seed` leaves in the lab: a week of telemetry through the bridge, then its bills."""
    with template_copy(server_url, template_db, "recon") as url:
        seed_through_bridge(url, days=7, users=10, seed=42, now=SEED_NOW)
        seed_billing(url, (SEED_NOW - timedelta(days=7)).date(), SEED_NOW.date(), seed=42, now=SEED_NOW)
        yield url


def _by_hand(url: str, first: date, last: date) -> dict[tuple[str, date, str], tuple[Decimal, Decimal]]:
    """Coverage per provider, day and model from the raw calls and the usage/cost lines, in Python."""
    seen: dict[tuple[str, date, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    billed: dict[tuple[str, date, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    with psycopg.connect(url) as conn:
        for provider, ts, model, tokens, cost, estimation in conn.execute(
            "SELECT provider, ts, model, input_tokens + cache_read_tokens + cache_write_tokens "
            "+ output_tokens, coalesce(total_cost_usd, 0), cost_estimation FROM agent_spend_logs"
        ):
            day = ts.astimezone(UTC).date()
            if provider in ("anthropic", "openai") and first <= day <= last and estimation != "subscription":
                seen[(provider, day, model)][0] += tokens
                seen[(provider, day, model)][1] += cost
        for provider, report, day, model, tokens, cost in conn.execute(
            "SELECT provider, report, day, model, input_tokens + cache_read_tokens + cache_write_tokens "
            "+ output_tokens, coalesce(cost_usd, 0) FROM billing_lines WHERE report IN ('usage', 'cost')"
        ):
            if first <= day <= last:
                billed[(provider, day, model)][0 if report == "usage" else 1] += (
                    tokens if report == "usage" else cost
                )
    return {key: (seen[key][0] / billed[key][0], seen[key][1] / billed[key][1]) for key in billed}


def test_seeded_lab_coverage_below_100_percent_everywhere_alike(seeded_lab: str) -> None:
    first, last = (SEED_NOW - timedelta(days=7)).date(), SEED_NOW.date()
    expected = _by_hand(seeded_lab, first, last)
    assert len(expected) > 20
    # reconcile status --json
    result = CliRunner().invoke(
        status_command,
        ["--database-url", seeded_lab, "--since", first.isoformat(), "--until", last.isoformat(), "--json"],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    from_status = {
        (d["provider"], date.fromisoformat(d["day"]), d["model"]): (
            d["coverage_tokens_ratio"],
            d["coverage_usd_ratio"],
        )
        for d in figures["days"]
    }
    _assert_same(from_status, expected)
    # The unmonitored key and user: coverage below 100 % for Anthropic, about 100 % for OpenAI.
    totals = {t["provider"]: t for t in figures["totals"]}
    assert 0.5 < totals["anthropic"]["coverage_usd_ratio"] < 0.95
    assert 0.99 < totals["openai"]["coverage_usd_ratio"] <= 1.0
    assert totals["all providers"]["coverage_usd_ratio"] < 1
    who = {(u["kind"], u["who"]) for u in figures["unmonitored"]}
    assert ("api key or account", UNMONITORED_ACCOUNT) in who and ("user", UNMONITORED_USER) in who
    assert {u["reason"] for u in figures["unbilled"]} == {"seat plan"}

    # The dashboard's table, as Grafana runs it (every filter on All), as the reader role.
    with psycopg.connect(seeded_lab, autocommit=True) as conn:
        status = reconcile_status(conn, first, last)
        conn.execute("SET ROLE agent_spend_reader")
        panel = next(
            t["rawSql"]
            for p, t in sql_targets(reconciliation())
            if p["title"] == "Coverage per provider, day and model"
        )
        variables = {name: Variable(name, ALL, True, True, "'__all'") for name in ("model", "user")}
        start, end = datetime(2026, 2, 23, 9, 30, tzinfo=UTC), SEED_NOW
        cursor = conn.execute(render(panel, start, end, variables))  # type: ignore[arg-type]
        names = [c.name for c in cursor.description or []]
        from_panel = {
            (r["provider"], r["day"], r["model"]): (r["coverage_tokens_ratio"], r["coverage_usd_ratio"])
            for r in (dict(zip(names, row, strict=True)) for row in cursor.fetchall())
        }
    _assert_same(from_panel, expected)
    _assert_same(
        {(d.provider, d.day, d.model): (d.coverage_tokens_ratio, d.coverage_usd_ratio) for d in status.days},
        expected,
    )


def _assert_same(
    found: dict[tuple[Any, ...], tuple[Any, Any]], expected: dict[tuple[Any, ...], tuple[Any, Any]]
) -> None:
    """Equal coverage for every billed cell (to 12 significant digits: NUMERIC and Decimal divide
    to different precisions); the other cells (seat-plan telemetry only) have none."""
    assert expected.keys() <= found.keys()
    assert all(found[key] == (None, None) for key in found.keys() - expected.keys())
    for key, (tokens, usd) in expected.items():
        assert tuple(float(v) for v in found[key]) == (
            pytest.approx(float(tokens), rel=1e-12),
            pytest.approx(float(usd), rel=1e-12),
        ), key
