"""`agent-spend reprice` against a real database: preview, confirm, apply, and idempotence."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from bridge.admin import reprice as reprice_module
from bridge.cli import main
from bridge.pricing.pricer import CACHE_WRITE_1H_ATTR, Pricer
from tests.support.db import rows
from tests.support.pricing import VERSION

TS = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)
SNAPSHOT = """
    SELECT dedup_key, input_cost_usd, output_cost_usd, cache_read_cost_usd, cache_write_cost_usd,
           total_cost_usd, list_cost_usd, reported_cost_usd, cost_source, cost_estimation, price_version
    FROM agent_spend_logs ORDER BY dedup_key
"""
PER_MODEL = "SELECT model, COALESCE(sum(total_cost_usd), 0) FROM agent_spend_logs GROUP BY model"


def insert(
    database_url: str, key: str, model: str, provider: str, *, ts: datetime = TS, **values: Any
) -> None:
    """A row as an older bridge (or an older price table) stored it."""
    row: dict[str, Any] = {"dedup_key": key, "ts": ts, "source": "test", "signal": "trace", "model": model,
                           "provider": provider, **values}  # fmt: skip
    if "attributes" in row:
        row["attributes"] = json.dumps(row["attributes"])
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    with psycopg.connect(database_url) as conn:
        conn.execute(f"INSERT INTO agent_spend_logs ({columns}) VALUES ({marks})", list(row.values()))


@pytest.fixture
def stored(database_url: str) -> str:
    # Priced by the issue-2 bridge: reported costs only, no list price, no price_version.
    insert(
        database_url,
        "a-sonnet",
        "claude-sonnet-4-5-20250929",
        "anthropic",
        input_tokens=1_000,
        output_tokens=100,
    )
    insert(
        database_url,
        "b-gpt5",
        "gpt-5",
        "openai",
        input_tokens=40,
        cache_read_tokens=2_000,
        output_tokens=120,
        total_cost_usd=Decimal("0.00135"),
        reported_cost_usd=Decimal("0.00135"),
        cost_source="reported",
        cost_estimation="metered",
    )
    insert(
        database_url,
        "c-sub",
        "gpt-5",
        "openai",
        input_tokens=1_000,
        output_tokens=0,
        user_id="ana@example.com",
        total_cost_usd=0,
        reported_cost_usd=0,
        cost_source="reported",
        cost_estimation="subscription",
    )
    insert(database_url, "d-llama", "llama3", "ollama", input_tokens=10, output_tokens=10)
    # 1000 cache-write tokens, all with 1-hour TTL ($6 / MTok for Sonnet 4.5, not $3.75).
    insert(
        database_url,
        "e-1h",
        "claude-sonnet-4-5",
        "anthropic",
        cache_write_tokens=1_000,
        attributes={CACHE_WRITE_1H_ATTR: 1_000},
    )
    insert(
        database_url,
        "f-opus",
        "claude-opus-4-1",
        "anthropic",
        input_tokens=1_000,
        output_tokens=1_000,
        team="mobile",
        harness_name="claude-code",
        total_cost_usd=Decimal("1"),
        list_cost_usd=Decimal("1"),
        cost_source="list_price",
        cost_estimation="metered",
        price_version="genai-prices 0.1.0",
    )
    # Outside the repriced range.
    insert(
        database_url,
        "z-old",
        "claude-sonnet-4-5",
        "anthropic",
        input_tokens=1_000,
        ts=datetime(2025, 10, 1, tzinfo=UTC),
    )
    return database_url


def run(database_url: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(
        main, ["reprice", "--database-url", database_url, "--since", "2025-11-01", *args], input=input
    )


def printed_differences(output: str) -> dict[str, Decimal]:
    """model → difference USD, from the preview table."""
    table: dict[str, Decimal] = {}
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("model "))
    for line in lines[start + 1 :]:
        parts = line.split()
        if len(parts) != 6:
            break
        table[parts[0]] = Decimal(parts[5].replace(",", ""))
    return table


def test_dry_run_changes_nothing(stored: str) -> None:
    before = rows(stored, SNAPSHOT)
    result = run(stored, "--dry-run")
    assert result.exit_code == 0, result.output
    assert rows(stored, SNAPSHOT) == before
    assert "Dry run: nothing changed." in result.output
    assert f"Pricing with {VERSION}" in result.output
    # 1000 x $3 + 100 x $15 = 0.0045 for the Sonnet row that had no cost.
    assert printed_differences(result.output)["claude-sonnet-4-5-20250929"] == Decimal("0.0045")


def test_yes_applies_exactly_the_printed_difference_then_nothing_changes(stored: str) -> None:
    before = dict(rows(stored, PER_MODEL))
    result = run(stored, "--yes")
    assert result.exit_code == 0, result.output
    after = dict(rows(stored, PER_MODEL))
    printed = printed_differences(result.output)
    for model in before:
        assert printed.get(model, Decimal(0)) == after[model] - before[model], model
    assert printed["TOTAL"] == sum(after.values()) - sum(before.values())
    assert "Updated 6 rows" in result.output  # every row in range: at least price_version changed

    by_key = {r[0]: r[1:] for r in rows(stored, SNAPSHOT)}
    # Sonnet 4.5: 1000 x $3 + 100 x $15.
    assert by_key["a-sonnet"] == (
        Decimal("0.003"),
        Decimal("0.0015"),
        0,
        0,
        Decimal("0.0045"),
        Decimal("0.0045"),
        None,
        "list_price",
        "metered",
        VERSION,
    )
    # GPT-5: list price wins over the reported $0.00135, which is kept.
    assert by_key["b-gpt5"][4:] == (
        Decimal("0.0015"),
        Decimal("0.0015"),
        Decimal("0.00135"),
        "list_price",
        "metered",
        VERSION,
    )
    # The emitter's subscription stays one, now with its list equivalent: 1000 x $1.25.
    assert by_key["c-sub"][4:] == (0, Decimal("0.00125"), 0, "reported", "subscription", VERSION)
    assert by_key["d-llama"][4:] == (None, None, None, "none", "unreported", VERSION)
    assert by_key["e-1h"][3:6] == (Decimal("0.006"), Decimal("0.006"), Decimal("0.006"))
    # Opus 4.1: 1000 x $15 + 1000 x $75.
    assert by_key["f-opus"][4:6] == (Decimal("0.09"), Decimal("0.09"))
    assert by_key["z-old"][4] is None, "outside --since"

    # The rollups (maintained by triggers on UPDATE) follow the raw rows.
    assert rows(stored, "SELECT sum(cost_usd), sum(list_cost_usd) FROM spend_daily") == rows(
        stored,
        "SELECT sum(COALESCE(total_cost_usd, 0)), sum(COALESCE(list_cost_usd, 0)) FROM agent_spend_logs",
    )

    again = run(stored, "--yes")
    assert again.exit_code == 0, again.output
    assert "Nothing to change." in again.output
    assert printed_differences(again.output)["TOTAL"] == 0
    assert dict(rows(stored, PER_MODEL)) == after


def test_without_yes_it_asks(stored: str) -> None:
    before = rows(stored, SNAPSHOT)
    declined = run(stored, input="n\n")
    assert declined.exit_code == 1 and "Update 6 rows? [y/N]" in declined.output
    assert rows(stored, SNAPSHOT) == before
    accepted = run(stored, input="y\n")
    assert accepted.exit_code == 0 and "Updated 6 rows" in accepted.output
    assert rows(stored, SNAPSHOT) != before


def test_until_bounds_the_range(stored: str) -> None:
    result = run(stored, "--until", "2025-11-03T12:00:00", "--yes")
    assert "Nothing to change." in result.output, "every row is at 12:00, --until excludes it"
    result = run(stored, "--until", "2025-11-01", "--dry-run")
    assert result.exit_code != 0 and "must be after --since" in result.output


def test_overrides_then_back_to_list_prices(stored: str, tmp_path: Path) -> None:
    overrides = tmp_path / "prices.yaml"
    overrides.write_text("multipliers:\n  providers: {openai: 0.5}\nsubscription:\n  - team: mobile\n")
    assert run(stored, "--yes", "--price-overrides", str(overrides)).exit_code == 0
    by_key = {r[0]: r[1:] for r in rows(stored, SNAPSHOT)}
    # The team stored on the row is matched: Opus 4.1 becomes a subscription worth $0.09.
    assert by_key["f-opus"][4:9] == (0, Decimal("0.09"), None, "override", "subscription")
    assert by_key["b-gpt5"][4:8] == (Decimal("0.00075"), Decimal("0.0015"), Decimal("0.00135"), "override")
    assert "+overrides:" in by_key["b-gpt5"][9]

    result = run(stored, "--yes")  # the operator removed the file: list prices again, visibly
    assert printed_differences(result.output)["claude-opus-4-1"] == Decimal("0.09")
    by_key = {r[0]: r[1:] for r in rows(stored, SNAPSHOT)}
    assert by_key["f-opus"][4:9] == (Decimal("0.09"), Decimal("0.09"), None, "list_price", "metered")
    assert by_key["b-gpt5"][4] == Decimal("0.0015")


def test_prefer_reported_uses_the_reported_parts_kept_in_attributes(
    database_url: str, tmp_path: Path
) -> None:
    insert(
        database_url,
        "r",
        "gpt-5",
        "openai",
        input_tokens=10,
        output_tokens=10,
        reported_cost_usd=Decimal("0.3"),
        attributes={"agent.cost.input.usd": 0.1, "agent.cost.output.usd": 0.2},
    )
    overrides = tmp_path / "prices.yaml"
    overrides.write_text("prefer_reported: true\n")
    assert run(database_url, "--yes", "--price-overrides", str(overrides)).exit_code == 0
    (row,) = rows(database_url, SNAPSHOT)
    assert row[1:6] == (Decimal("0.1"), Decimal("0.2"), 0, 0, Decimal("0.3"))
    assert row[8] == "reported"


def test_one_hour_cache_writes_from_the_agent_attribute(database_url: str) -> None:
    assert reprice_module.CACHE_1H_KEYS[0] == CACHE_WRITE_1H_ATTR
    # Sonnet 4.5: 600 x $3.75 (5-minute) + 400 x $6 (1-hour); junk counts as no 1-hour writes.
    insert(
        database_url,
        "a",
        "claude-sonnet-4-5",
        "anthropic",
        cache_write_tokens=1_000,
        attributes={"agent.usage.cache_write_1h.input_tokens": "400"},
    )
    insert(
        database_url,
        "b",
        "claude-sonnet-4-5",
        "anthropic",
        cache_write_tokens=1_000,
        attributes={CACHE_WRITE_1H_ATTR: "lots"},
    )
    assert run(database_url, "--yes").exit_code == 0
    assert rows(database_url, "SELECT cache_write_cost_usd FROM agent_spend_logs ORDER BY dedup_key") == [
        (Decimal("0.00465"),),
        (Decimal("0.00375"),),
    ]


def test_many_batches(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reprice_module, "BATCH_ROWS", 2)
    for i in range(7):
        insert(database_url, f"k{i}", "gpt-4.1", "openai", input_tokens=1_000 * (i + 1))
    result = run(database_url, "--yes")
    assert "Updated 7 rows" in result.output, result.output
    # GPT-4.1 input $2 / MTok: (1 + ... + 7) x 1000 x $2.
    assert rows(database_url, "SELECT sum(total_cost_usd) FROM agent_spend_logs") == [(Decimal("0.056"),)]


def test_rows_changed_after_the_preview_are_left_alone(stored: str) -> None:
    with psycopg.connect(stored) as conn:
        with conn.transaction():
            preview = reprice_module.scan(conn, Pricer(), TS.replace(day=1), None, stage=True)
        conn.execute("UPDATE agent_spend_logs SET total_cost_usd = 7 WHERE dedup_key = 'a-sonnet'")
        conn.commit()
        updated, difference = reprice_module.apply(conn, preview.changed)
    assert (preview.changed, updated) == (6, 5)
    assert rows(stored, "SELECT total_cost_usd FROM agent_spend_logs WHERE dedup_key = 'a-sonnet'") == [(7,)]
    assert difference == preview.models["claude-opus-4-1"].difference + Decimal("0.00015") + Decimal("0.006")
