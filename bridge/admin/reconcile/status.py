"""The figures of `agent-spend reconcile status`: billed beside telemetry, as the dashboard shows them.

Everything is read from the reconciliation functions of schema/objects/50_panels/
(`reconcile_days`, `reconcile_totals`, `reconcile_unmonitored`, `reconcile_unbilled`) and
the `reconcile_sync` view, so the command and the Reconciliation dashboard cannot disagree.
Days are UTC: `since` and `until` are both included. What each figure means is in
docs/reconcile.md ("Reading the figures"); the command's options and output are
bridge/cli/reconcile_status.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import class_row

ALL_PROVIDERS = "all providers"


@dataclass(frozen=True)
class CoverageRow:
    """Billed beside telemetry for one provider, UTC day and model (reconcile_days)."""

    provider: str
    day: date
    model: str
    tokens_report: str | None
    usd_report: str | None
    billed_tokens: Decimal | None
    billed_usd: Decimal | None
    telemetry_calls: Decimal
    telemetry_tokens: Decimal
    telemetry_cost_usd: Decimal
    telemetry_list_usd: Decimal
    telemetry_reported_usd: Decimal
    seat_tokens: Decimal
    coverage_tokens_ratio: Decimal | None
    coverage_usd_ratio: Decimal | None
    unseen_tokens: Decimal | None
    unseen_usd: Decimal | None
    unbilled_tokens: Decimal | None
    unbilled_usd: Decimal | None


@dataclass(frozen=True)
class ProviderTotal:
    """reconcile_days summed per provider, or over all of them (provider ALL_PROVIDERS)."""

    provider: str
    days: int
    billed_tokens: Decimal | None
    billed_usd: Decimal | None
    telemetry_calls: Decimal | None
    telemetry_tokens: Decimal | None
    telemetry_cost_usd: Decimal | None
    telemetry_list_usd: Decimal | None
    telemetry_reported_usd: Decimal | None
    seat_tokens: Decimal | None
    seat_list_usd: Decimal | None
    coverage_tokens_ratio: Decimal | None
    coverage_usd_ratio: Decimal | None
    unseen_tokens: Decimal | None
    unseen_usd: Decimal | None
    unbilled_tokens: Decimal | None
    unbilled_usd: Decimal | None


@dataclass(frozen=True)
class Unmonitored:
    """Spend billed but never seen in telemetry: an account, a user, or an unattributable rest."""

    provider: str
    kind: str
    who: str
    model: str
    days: int
    billed_tokens: Decimal
    billed_usd: Decimal | None
    unseen_tokens: Decimal
    unseen_usd: Decimal | None


@dataclass(frozen=True)
class Unbilled:
    """Telemetry with no bill behind it, per provider, reason and model."""

    provider: str
    reason: str
    model: str
    days: int
    telemetry_calls: Decimal
    unbilled_tokens: Decimal
    unbilled_usd: Decimal


@dataclass(frozen=True)
class SyncState:
    """Where one report's pull stands (billing_sync)."""

    provider: str
    report: str
    complete_through: date | None
    last_pulled_at: datetime | None
    last_error: str | None
    last_day_with_lines: date | None


@dataclass(frozen=True)
class ReconcileStatus:
    """Every figure of `reconcile status` for the UTC days since..until."""

    since: date
    until: date
    days: list[CoverageRow]
    totals: list[ProviderTotal]  # per provider, then ALL_PROVIDERS last
    unmonitored: list[Unmonitored]
    unbilled: list[Unbilled]
    sync: list[SyncState]

    @property
    def total(self) -> ProviderTotal:
        """The all-providers row."""
        return next(t for t in self.totals if t.provider == ALL_PROVIDERS)


def day_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """The range [since 00:00, until + 1 day 00:00) UTC, which the SQL functions turn back into the
    UTC days since..until."""
    return (
        datetime.combine(since, time(), tzinfo=UTC),
        datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC),
    )


def reconcile_status(conn: psycopg.Connection[Any], since: date, until: date) -> ReconcileStatus:
    """Read the reconciliation figures of since..until (UTC days, both included)."""
    if until < since:
        raise ValueError(f"until ({until}) is before since ({since})")
    start, end = day_bounds(since, until)
    args = (start, end)

    def rows(cls: type[Any], query: str, params: tuple[Any, ...] = args) -> list[Any]:
        with conn.cursor(row_factory=class_row(cls)) as cur:
            return cur.execute(query, params).fetchall()

    columns = ", ".join(CoverageRow.__dataclass_fields__)
    return ReconcileStatus(
        since=since,
        until=until,
        days=rows(CoverageRow, f"SELECT {columns} FROM reconcile_days(%s, %s) ORDER BY provider, day, model"),
        totals=rows(
            ProviderTotal,
            f"SELECT * FROM reconcile_totals(%s, %s) ORDER BY provider = '{ALL_PROVIDERS}', provider",
        ),
        unmonitored=rows(
            Unmonitored,
            "SELECT * FROM reconcile_unmonitored(%s, %s) "
            "ORDER BY unseen_usd DESC NULLS LAST, unseen_tokens DESC, provider, kind, who, model",
        ),
        unbilled=rows(
            Unbilled,
            "SELECT * FROM reconcile_unbilled(%s, %s) "
            "ORDER BY unbilled_usd DESC, unbilled_tokens DESC, provider, reason, model",
        ),
        sync=rows(
            SyncState,
            "SELECT provider, report, complete_through, last_pulled_at, last_error, last_day_with_lines "
            "FROM reconcile_sync ORDER BY provider, report",
            (),
        ),
    )


def as_json(status: ReconcileStatus) -> dict[str, Any]:
    """JSON-ready figures: token counts as integers, dollars and ratios as numbers (floats),
    days and instants in ISO 8601, a figure that does not exist as null."""
    return {
        "since": status.since.isoformat(),
        "until": status.until.isoformat(),
        "totals": [_plain(asdict(t)) for t in status.totals],
        "days": [_plain(asdict(d)) for d in status.days],
        "unmonitored": [_plain(asdict(u)) for u in status.unmonitored],
        "unbilled": [_plain(asdict(u)) for u in status.unbilled],
        "sync": [_plain(asdict(s)) for s in status.sync],
    }


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _value(name, value) for name, value in row.items()}


def _value(name: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if name.endswith(("tokens", "calls")) else float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
