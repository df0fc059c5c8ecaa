"""Helpers of the budget tests: hand-made spend and budget rows, the state at an instant,
a budget's stored versions, and the budget file both test_budgets and test_budget_file read."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

_keys = itertools.count()


def spend(
    conn: psycopg.Connection[Any],
    ts: datetime,
    cost: str | int,
    *,
    user: str = "ann@x",
    team: str = "core",
    repo: str | None = "acme/app",
) -> None:
    conn.execute(
        "INSERT INTO agent_spend_logs (dedup_key, ts, ingest_ts, source, signal, user_id, team,"
        " workspace_repo, model, provider, input_tokens, output_tokens, total_cost_usd, list_cost_usd,"
        " cost_estimation)"
        " VALUES (%s, %s, %s, 'test', 'trace', %s, %s, %s, 'm', 'p', 10, 1, %s, %s, 'metered')",
        (f"k{next(_keys)}", ts, ts, user, team, repo, Decimal(cost), Decimal(cost)),
    )


def budget(
    conn: psycopg.Connection[Any],
    name: str,
    kind: str,
    scope: str,
    period: str,
    amount: str | int,
    *,
    valid_from: datetime | str = "-infinity",
    valid_to: datetime | None = None,
    thresholds: list[int] | None = None,
    warn_projected: bool = True,
) -> None:
    conn.execute(
        "INSERT INTO budgets (name, scope_kind, scope, period, amount_usd, thresholds, warn_projected,"
        " valid_from, valid_to)"
        " VALUES (%s, %s, %s, %s, %s, coalesce(%s::numeric[], '{50,80,100}'), %s, %s, %s)",
        (name, kind, scope, period, Decimal(amount), thresholds, warn_projected, valid_from, valid_to),
    )


def state(conn: psycopg.Connection[Any], now: datetime) -> dict[str, dict[str, Any]]:
    cur = conn.execute("SELECT * FROM budget_state_at(%s)", (now,))
    names = [d.name for d in cur.description or []]
    return {row[1]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def versions(conn: psycopg.Connection[Any], name: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT amount_usd, CASE WHEN isfinite(valid_from) THEN valid_from END, valid_to FROM budgets"
        " WHERE name = %s ORDER BY budget_id",
        (name,),
    ).fetchall()


BUDGET_FILE = """\
budgets:
  - org: true
    period: month
    amount_usd: 5000
  - name: payments
    team: payments
    period: week
    amount_usd: 300.50
    thresholds: [80, 100]
    projected_warning: false
  - repository: acme/app
    period: day
    amount_usd: 25
"""
