"""Shared by the alert tests (tests/test_alerts_*.py): a fixed clock and inserting calls.

`NOW` is the explicit p_now most tests evaluate at; `alert_call` builds one logged call
costing `cost` (None: unpriced) with a fresh idempotency key; `store_unpriced` inserts one
unpriced call per model two hours before `at`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from tests.support.rollups import call, insert_calls

# A Wednesday afternoon, UTC.
NOW = datetime(2025, 6, 18, 15, 30, tzinfo=UTC)

_keys = iter(range(10**9))


def alert_call(ts: datetime, cost: str | None, **overrides: Any) -> dict[str, Any]:
    price = None if cost is None else Decimal(cost)
    return call(f"k{next(_keys)}", ts, total_cost_usd=price, list_cost_usd=price, **overrides)


def store_calls(database_url: str, calls: list[dict[str, Any]]) -> None:
    with psycopg.connect(database_url) as conn:
        insert_calls(conn, calls)


def store_unpriced(database_url: str, *models: str, at: datetime = NOW) -> None:
    store_calls(database_url, [alert_call(at - timedelta(hours=2), None, model=m) for m in models])
