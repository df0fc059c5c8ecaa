"""A few budgets for the lab, sized from what the database holds (`make seed`).

After the telemetry is in, `seed_budgets` reads each candidate's spend in its current period
from the same SQL the dashboards read (`budget_spent`, `budget_state_at`) and applies, with
fixed names so that seeding again updates them (a new version each) instead of adding more:

* `seed-org` - the org, per month, at 1.25 x the larger of its projected month end and
  twice its spend: `ok`;
* `seed-team-exceeded` - the team that spent most this month, at 80 % of that: `exceeded`;
* `seed-developer-projected` - the developer who spent most in the period (month, week or
  day) with the smallest elapsed fraction past the projected alert's minimum
  (`ALERT_BUDGET_MIN_ELAPSED_RATIO`; else the smallest), at the geometric mean of spent and projected
  (so spent < amount < projected), its thresholds the defaults above the percent reached:
  `projected_over`;
* `seed-repository-warning` - the repository that spent most this week, at spent / 85 %:
  `warning`;
* `seed-team-ok` - the second team, per month, sized like `seed-org`: `ok`.

Whatever `--days` / `--users`, as long as the current periods hold spend; a budget whose
scope spent nothing is skipped. The states hold at `now` (the seed's time) and drift as the
clock moves on, as real budgets do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import psycopg

from bridge import config
from bridge.admin.budgets import DEFAULT_THRESHOLDS, BudgetChange, BudgetSpec, apply_budgets, make_spec

CENT = Decimal("0.01")
MICROSECOND = timedelta(microseconds=1)
# The name of each seeded budget and the status it is sized for at the seed's time.
EXPECTED = {
    "seed-org": "ok",
    "seed-team-exceeded": "exceeded",
    "seed-developer-projected": "projected_over",
    "seed-repository-warning": "warning",
    "seed-team-ok": "ok",
}


@dataclass(frozen=True)
class SeededBudgets:
    """What seed_budgets applied, and each budget's state at the seed's time."""

    changes: list[BudgetChange]
    status: dict[str, str]


def _period(conn: psycopg.Connection[Any], period: str, now: datetime) -> tuple[datetime, datetime, Decimal]:
    """[start, end) of the period containing `now`, and its elapsed fraction (as budget_periods counts it)."""
    row = conn.execute("SELECT * FROM budget_period_series(%s, %s, %s + interval '1 microsecond')",
                       (period, now, now)).fetchone()  # fmt: skip
    assert row is not None
    start, end = row
    elapsed = Decimal((now - start) // MICROSECOND + 1) / Decimal((end - start) // MICROSECOND)
    return start, end, max(elapsed, Decimal(1) / 24)


def _spent(
    conn: psycopg.Connection[Any], kind: str, start: datetime, now: datetime
) -> list[tuple[str, Decimal]]:
    """Spend per scope value in [start, now], largest first (scopes that spent something)."""
    rows = conn.execute(
        "SELECT scope, spent_usd FROM budget_spent(%s, %s, %s + interval '1 microsecond')"
        " WHERE spent_usd > 0 AND scope NOT IN ('unknown', '(none)') ORDER BY spent_usd DESC, scope",
        (kind, start, now),
    ).fetchall()
    return [(str(scope), Decimal(spent)) for scope, spent in rows]


def _money(value: Decimal, rounding: str) -> Decimal:
    return max(value.quantize(CENT, rounding=rounding), CENT)


def _comfortable(spent: Decimal, fraction: Decimal) -> Decimal:
    """An amount no threshold or projection reaches: 1.25 x the larger of the projection and
    twice the spend (so below 50 % spent and the projection below the amount)."""
    return _money(max(spent / fraction, spent * 2) * Decimal("1.25"), ROUND_CEILING)


def plan_seed_budgets(conn: psycopg.Connection[Any], now: datetime) -> list[BudgetSpec]:
    """The seeded budgets, sized from the spend up to `now`."""
    specs: list[BudgetSpec] = []
    month_start, _, month_fraction = _period(conn, "month", now)
    org = _spent(conn, "org", month_start, now)
    if org:
        amount = _comfortable(org[0][1], month_fraction)
        specs.append(make_spec("org", "", "month", amount, name="seed-org"))
    teams = _spent(conn, "team", month_start, now)
    if teams:
        team, spent = teams[0]
        amount = _money(spent * Decimal("0.8"), ROUND_FLOOR)
        if amount <= spent:
            specs.append(make_spec("team", team, "month", amount, name="seed-team-exceeded"))
    if len(teams) > 1:
        team, spent = teams[1]
        specs.append(
            make_spec("team", team, "month", _comfortable(spent, month_fraction), name="seed-team-ok")
        )
    developer = _developer_projected(conn, now)
    if developer is not None:
        specs.append(developer)
    week_start, _, _ = _period(conn, "week", now)
    repositories = _spent(conn, "repository", week_start, now)
    if repositories:
        repository, spent = repositories[0]
        amount = _money(spent / Decimal("0.85"), ROUND_CEILING)
        if spent * 100 / amount >= 80:
            specs.append(make_spec("repository", repository, "week", amount, name="seed-repository-warning"))
    return specs


def _developer_projected(conn: psycopg.Connection[Any], now: datetime) -> BudgetSpec | None:
    """The top developer's budget in the period with the least elapsed (the widest room
    between spent and projected) that the projected alert already judges, amount between the
    two, no threshold reached yet."""
    candidates = []
    for period in ("month", "week", "day"):
        start, _, fraction = _period(conn, period, now)
        users = _spent(conn, "user", start, now)
        if users:
            candidates.append((fraction, period, users[0]))
    if not candidates:
        return None
    # The projected-overrun alert waits until ALERT_BUDGET_MIN_ELAPSED_RATIO of a period has
    # passed: prefer a period past it, so the lab's alerts show this budget too.
    alerting = [c for c in candidates if c[0] >= Decimal(str(config.ALERT_BUDGET_MIN_ELAPSED_RATIO))]
    fraction, period, (user, spent) = min(alerting or candidates)
    projected = spent / fraction
    amount = (spent * projected).sqrt().quantize(CENT)  # the geometric mean: spent < amount < projected
    if not spent < amount < projected:
        return None
    percent = spent * 100 / amount
    thresholds = tuple(t for t in DEFAULT_THRESHOLDS if t > percent)
    return make_spec("user", user, period, amount, name="seed-developer-projected", thresholds=thresholds)


def seed_budgets(database_url: str, now: datetime) -> SeededBudgets:
    """Apply the seeded budgets (sized at `now`, their new versions valid from `now`) and read
    back their state at `now`."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        changes = apply_budgets(conn, plan_seed_budgets(conn, now), now=now)
        status = {
            str(name): str(state)
            for name, state in conn.execute(
                "SELECT name, status FROM budget_state_at(%s) WHERE name = ANY (%s)",
                (now, list(EXPECTED)),
            ).fetchall()
        }
    return SeededBudgets(changes, status)
