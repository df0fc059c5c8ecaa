"""Check and repair the pre-aggregated spend rollups (`agent-spend rollup verify|rebuild`).

The statement-level triggers (schema/objects/30_rollup_machinery/) keep spend_hourly,
spend_daily, session_rollup and the derived rollups listed in spend_rollup_registry equal to a
fresh aggregation of agent_spend_logs as rows are inserted, re-priced or deleted. These
commands exist for what bypasses triggers (TRUNCATE, a partial restore, `DISABLE TRIGGER`,
a bug): verify proves the invariant, rebuild restores it. Both respect the retention
horizon: buckets before it are history whose raw rows are gone, so they can be neither
checked nor recomputed. The SQL lives in the schema (spend_rollup_verify / spend_rollup_rebuild
in schema/objects/30_rollup_machinery/) so it uses the same formulas as the triggers
and an operator can run it from psql too. The commands' options live in bridge/cli/rollup.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import set_json_loads

# Table column order, for messages (JSON objects come back in jsonb's own key order).
_COLUMN_ORDER = {
    name: i
    for i, name in enumerate(
        [
            "bucket",
            "session_id",
            "user_id",
            "team",
            "model",
            "provider",
            "harness_name",
            "workspace_repo",
            "workspace_branch",
            "environment",
            "cost_estimation",
            "workspace_is_ci",
            "first_ts",
            "last_ts",
            "calls",
            "error_calls",
            "unpriced_calls",
            "long_context_calls",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
            "cost_usd",
            "list_cost_usd",
            "reported_cost_usd",
        ]
    )
}


def _ordered(row: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted(row.items(), key=lambda item: _COLUMN_ORDER.get(item[0], len(_COLUMN_ORDER)))


def _exact_json(text: str | bytes) -> Any:
    """Parse numbers as Decimal: costs are NUMERIC and floats would hide small differences."""
    return json.loads(text, parse_float=Decimal)


@dataclass(frozen=True, slots=True)
class Difference:
    """One rollup row that does not match the fresh aggregation (None: absent on that side)."""

    rollup: str
    key: dict[str, Any]
    stored: dict[str, Any] | None
    fresh: dict[str, Any] | None

    def describe(self) -> str:
        key = " ".join(f"{name}={value!r}" for name, value in _ordered(self.key))
        if self.stored is None:
            return (
                f"{self.rollup} {{{key}}}: missing from the rollup (raw rows give calls={self.fresh_calls})"
            )
        if self.fresh is None:
            return f"{self.rollup} {{{key}}}: no raw rows (rollup has calls={self.stored.get('calls')})"
        columns = [
            f"{name} rollup={value} raw={self.fresh.get(name)}"
            for name, value in _ordered(self.stored)
            if value != self.fresh.get(name)
        ]
        return f"{self.rollup} {{{key}}}: " + ", ".join(columns)

    @property
    def fresh_calls(self) -> Any:
        return (self.fresh or {}).get("calls")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of `rollup verify`: the rollup rows that differ from the raw rows, if any."""

    horizon: datetime | None  # None: no retention has run, everything was compared
    differences: list[Difference]

    @property
    def ok(self) -> bool:
        return not self.differences


@dataclass(frozen=True, slots=True)
class RebuildCount:
    """Rows one rollup lost and gained in a rebuild."""

    rollup: str
    removed: int
    written: int


def retention_horizon(conn: psycopg.Connection[Any]) -> datetime | None:
    row = conn.execute("SELECT nullif(spend_retention_horizon(), '-infinity')").fetchone()
    return row[0] if row else None


def verify(conn: psycopg.Connection[Any]) -> VerifyResult:
    """Compare every rollup with a fresh aggregation, from one snapshot.

    Triggers update rollups in the writer's transaction, so any single snapshot is
    consistent even while the bridge keeps writing; REPEATABLE READ gives us one snapshot
    for all three rollups. `conn` must be idle; its settings are restored afterwards.
    """
    set_json_loads(_exact_json, conn)
    saved = conn.isolation_level, conn.read_only
    conn.isolation_level, conn.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
    try:
        with conn.transaction():
            horizon = retention_horizon(conn)
            rows = conn.execute("SELECT rollup, key, stored, fresh FROM spend_rollup_verify()").fetchall()
    finally:
        conn.isolation_level, conn.read_only = saved
    return VerifyResult(horizon, [Difference(*row) for row in rows])


def rebuild(conn: psycopg.Connection[Any], since: datetime | None = None) -> list[RebuildCount]:
    """Recompute rollups from `since` (UTC day; None: everything after the retention horizon).

    One transaction: the function locks agent_spend_logs against writers, so the bridge
    pauses (its requests queue, then get 503/UNAVAILABLE and are retried) for the duration.
    """
    with conn.transaction():
        rows = conn.execute(
            "SELECT rollup, removed, written FROM spend_rollup_rebuild(%s)", (since,)
        ).fetchall()
    return [RebuildCount(*row) for row in rows]
