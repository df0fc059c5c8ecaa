"""The reconciliation scenario: four UTC days of telemetry (through the rollup triggers) and
billing lines, the figures of which tests/test_reconcile_views.py works out by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from tests.support.rollups import DEFAULTS, insert_calls

D0, D1, D2, D3 = date(2025, 6, 14), date(2025, 6, 15), date(2025, 6, 16), date(2025, 6, 17)
FROM, TO = datetime(2025, 6, 14, tzinfo=UTC), datetime(2025, 6, 18, tzinfo=UTC)
SONNET, OPUS, HAIKU = "claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"
ANA, BOB, CAROL = "ana@example.com", "bob@example.com", "carol@example.com"


def call_on(day: date, hour: int = 12, **fields: Any) -> dict[str, Any]:
    ts = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return {**DEFAULTS, "dedup_key": f"k-{uuid.uuid4().hex}", "ts": ts, **fields}


def tokens(i: int, cr: int, cw: int, o: int) -> dict[str, int]:
    return {"input_tokens": i, "cache_read_tokens": cr, "cache_write_tokens": cw, "output_tokens": o}


def bill(conn: psycopg.Connection[Any], *lines: dict[str, Any]) -> None:
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


def insert_scenario(conn: psycopg.Connection[Any]) -> None:
    """Four UTC days of telemetry and bills; the expected figures are worked out in each test
    of tests/test_reconcile_views.py."""
    insert_calls(
        conn,
        [
            # D0: only Claude Code analytics for anthropic (tokens and dollars fall back to it).
            call_on(
                D0,
                user_id=ANA,
                model=SONNET,
                total_cost_usd=Decimal("0.02"),
                list_cost_usd=Decimal("0.02"),
                **tokens(1000, 2000, 500, 500),
            ),
            # D1: two metered sonnet calls (15,000 tokens, $0.08), one seat-plan call (4,000 tokens).
            call_on(
                D1,
                9,
                user_id=ANA,
                model=SONNET,
                total_cost_usd=Decimal("0.05"),
                list_cost_usd=Decimal("0.05"),
                reported_cost_usd=Decimal("0.05"),
                **tokens(1000, 6000, 1000, 2000),
            ),
            call_on(
                D1,
                23,
                user_id=ANA,
                model=SONNET,
                total_cost_usd=Decimal("0.03"),
                list_cost_usd=Decimal("0.03"),
                **tokens(500, 3000, 0, 1500),
            ),
            call_on(
                D1,
                user_id=BOB,
                model=SONNET,
                cost_estimation="subscription",
                total_cost_usd=Decimal(0),
                list_cost_usd=Decimal("0.02"),
                **tokens(1000, 2000, 500, 500),
            ),
            # D1: openai gpt-5, 3,000 tokens, $0.02; a provider no bill is pulled for.
            call_on(
                D1,
                user_id=ANA,
                model="gpt-5",
                provider="openai",
                harness_name="codex",
                total_cost_usd=Decimal("0.02"),
                list_cost_usd=Decimal("0.02"),
                **tokens(2000, 0, 0, 1000),
            ),
            call_on(
                D1,
                user_id=ANA,
                model="gemini-2.5-pro",
                provider="gcp.gemini",
                harness_name="gemini-cli",
                total_cost_usd=Decimal("0.50"),
                **tokens(9000, 0, 0, 1000),
            ),
            # D2: opus telemetry the provider billed nothing for.
            call_on(
                D2,
                user_id=ANA,
                model=OPUS,
                total_cost_usd=Decimal("0.10"),
                list_cost_usd=Decimal("0.10"),
                **tokens(1000, 0, 0, 1000),
            ),
            # D3: after the last billed day (complete_through D2): compared with nothing.
            call_on(D3, user_id=ANA, model=SONNET, total_cost_usd=Decimal("0.01"), **tokens(500, 0, 0, 500)),
        ],
    )
    bill(
        conn,
        {
            "provider": "anthropic",
            "report": "claude_code",
            "day": D0,
            "model": SONNET,
            "user_ref": ANA,
            **tokens(2000, 4000, 1000, 1000),
            "cost_usd": Decimal("0.04"),
        },
        # D1 tokens: usage (key-a 15,000 + key-b 5,000), not csv_usage or claude_code; dollars: cost.
        {
            "provider": "anthropic",
            "report": "usage",
            "day": D1,
            "model": SONNET,
            "account": "key-a",
            **tokens(1500, 9000, 1000, 3500),
        },
        {
            "provider": "anthropic",
            "report": "usage",
            "day": D1,
            "model": SONNET,
            "account": "key-b",
            **tokens(500, 3000, 500, 1000),
        },
        {
            "provider": "anthropic",
            "report": "csv_usage",
            "day": D1,
            "model": SONNET,
            **tokens(99_999, 0, 0, 0),
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
            **tokens(1500, 9000, 1000, 3500),
            "cost_usd": Decimal("0.09"),
        },
        {
            "provider": "anthropic",
            "report": "claude_code",
            "day": D1,
            "model": SONNET,
            "user_ref": CAROL,
            **tokens(0, 2000, 500, 500),
            "cost_usd": Decimal("0.01"),
        },
        # D2: haiku on key-b only, which telemetry never saw; nothing for opus.
        {
            "provider": "anthropic",
            "report": "usage",
            "day": D2,
            "model": HAIKU,
            "account": "key-b",
            **tokens(2000, 4000, 0, 1000),
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
            **tokens(2500, 0, 0, 1500),
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
