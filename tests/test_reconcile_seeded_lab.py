"""Reconciliation over what `make seed` leaves in the lab: a week of telemetry through the
bridge and seeder/billing.py's bills, read by `reconcile status`, by the dashboard's panel as
Grafana runs it (as the reader role) and by the status function, against coverage computed
by hand from the raw rows."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from bridge.admin.reconcile.status import reconcile_status
from bridge.cli.reconcile_status import status_command
from dashboards.reconcile import reconciliation
from seeder.billing import UNMONITORED_ACCOUNT, UNMONITORED_USER, seed_billing
from tests.support.bridge_process import seed_through_bridge
from tests.support.db import template_copy
from tests.support.grafana_sql import ALL, Variable, render, sql_targets

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
