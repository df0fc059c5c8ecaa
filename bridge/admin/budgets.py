"""Budgets for the org, a team, a developer or a repository (`agent-spend budget`; docs/budgets.md).

A budget is a name (its stable key) with a scope, a period (UTC calendar month, ISO week,
UTC day), an amount in USD, alert thresholds in percent and a projected-overrun warning.
The table `budgets` (schema/migrations/0010_budgets.sql) holds its versions: a change
closes the current version (`valid_to` = now) and inserts a new one, so a past period is
judged against the version that applied at its end; removing closes it. What a budget has
spent, its projection and status come from SQL (`budget_state_at`, `budget_periods`), read
here as they are read by the dashboards, the alerts and the reports.

Budgets are set one at a time (`set_budget`, `remove_budget`) or declared in a YAML file
(read by bridge/admin/budget_file.py) that `apply_budgets` syncs: created, updated,
unchanged and, with `prune`, removed, computed first by `plan_budgets` (the dry run's
diff). The command's options live in bridge/cli/budget.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import psycopg

from bridge import config

SCOPE_KINDS = ("org", "team", "user", "repository")
PERIODS = ("month", "week", "day")
DEFAULT_THRESHOLDS: tuple[Decimal, ...] = tuple(Decimal(t) for t in config.BUDGET_DEFAULT_THRESHOLDS_PERCENT)
MAX_AMOUNT = Decimal("999999999999.99")  # NUMERIC(14, 2)
MAX_THRESHOLD = Decimal(10_000)

Action = Literal["create", "update", "unchanged", "remove"]


class BudgetError(ValueError):
    """A budget, a budget file or a budget command that cannot be applied; the text says why."""


@dataclass(frozen=True)
class BudgetSpec:
    """One budget as declared (the content of one version): what `set` and a YAML entry say."""

    name: str
    scope_kind: str
    scope: str
    period: str
    amount_usd: Decimal
    thresholds: tuple[Decimal, ...] = DEFAULT_THRESHOLDS
    warn_projected: bool = True

    def describe(self) -> str:
        """One line: scope, period, amount, thresholds, projected warning."""
        scope = "org" if self.scope_kind == "org" else f"{self.scope_kind} {self.scope}"
        return (
            f"{scope}, per {self.period}, ${self.amount_usd:,.2f}, thresholds "
            f"{'/'.join(_number(t) for t in self.thresholds)} %, projected warning "
            f"{'on' if self.warn_projected else 'off'}"
        )


@dataclass(frozen=True)
class BudgetChange:
    """One difference between declared and stored budgets: create, update, unchanged or remove."""

    action: Action
    name: str
    old: BudgetSpec | None
    new: BudgetSpec | None

    def describe(self) -> str:
        """The diff line(s) of this change, as the dry run prints them."""
        if self.action == "create" and self.new:
            return f"+ {self.name}: {self.new.describe()}"
        if self.action == "remove" and self.old:
            return f"- {self.name}: {self.old.describe()}"
        if self.action == "unchanged":
            return f"= {self.name}"
        assert self.old and self.new
        changed = [
            f"{f.name}: {_show(getattr(self.old, f.name))} -> {_show(getattr(self.new, f.name))}"
            for f in fields(BudgetSpec)
            if getattr(self.old, f.name) != getattr(self.new, f.name)
        ]
        return f"~ {self.name}: " + "; ".join(changed)


@dataclass(frozen=True)
class BudgetState:
    """A budget in one period, as budget_state_at / budget_periods return it."""

    budget_id: int
    name: str
    scope_kind: str
    scope: str
    period: str
    period_start: datetime
    period_end: datetime
    amount_usd: Decimal
    spent_usd: Decimal
    percent: Decimal
    projected_usd: Decimal
    thresholds: tuple[Decimal, ...]
    threshold_reached: Decimal | None
    projected_over: bool
    status: str


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return "/".join(_number(v) for v in value)
    if isinstance(value, Decimal):
        return _number(value)
    return repr(value) if isinstance(value, str) else str(value)


def default_name(scope_kind: str, scope: str, period: str) -> str:
    """The name `set` gives a budget without --name: 'org:month', 'team:payments:month', ..."""
    return f"org:{period}" if scope_kind == "org" else f"{scope_kind}:{scope}:{period}"


def parse_amount(value: object) -> Decimal:
    """A positive dollar amount with at most two decimals (NUMERIC(14, 2))."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise BudgetError(f"amount must be a number of dollars, not {value!r}")
    try:
        amount = Decimal(
            str(value).strip().lstrip("$").replace(",", "") if isinstance(value, str) else str(value)
        )
    except InvalidOperation:
        raise BudgetError(f"amount must be a number of dollars, not {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise BudgetError(f"amount must be above 0, not {value!r}")
    if amount != amount.quantize(Decimal("0.01")):
        raise BudgetError(f"amount has more than two decimals: {value!r}")
    if amount > MAX_AMOUNT:
        raise BudgetError(f"amount is too large: {value!r}")
    return amount.quantize(Decimal("0.01"))


def parse_thresholds(value: object) -> tuple[Decimal, ...]:
    """Percentages, from '50,80,100' or a list: each above 0 (at most 10000), sorted, no repeats."""
    items: list[object]
    if isinstance(value, str):
        items = [v for v in (p.strip() for p in value.split(",")) if v]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise BudgetError(f"thresholds must be a list of percentages, not {value!r}")
    if not items:
        raise BudgetError("thresholds must name at least one percentage")
    out: list[Decimal] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float | str | Decimal):
            raise BudgetError(f"threshold must be a percentage, not {item!r}")
        try:
            number = Decimal(str(item).strip().rstrip("%"))
        except InvalidOperation:
            raise BudgetError(f"threshold must be a percentage, not {item!r}") from None
        if not number.is_finite() or number <= 0 or number > MAX_THRESHOLD:
            raise BudgetError(f"threshold must be above 0 and at most {MAX_THRESHOLD} %, not {item!r}")
        out.append(number)
    if len(set(out)) != len(out):
        raise BudgetError(f"thresholds repeat a value: {value!r}")
    return tuple(sorted(out))


def make_spec(
    scope_kind: str,
    scope: str,
    period: str,
    amount: object,
    *,
    name: str | None = None,
    thresholds: object = None,
    warn_projected: bool = True,
) -> BudgetSpec:
    """A validated BudgetSpec (BudgetError says what is wrong); the name defaults to default_name."""
    if scope_kind not in SCOPE_KINDS:
        raise BudgetError(f"scope must be one of {', '.join(SCOPE_KINDS)}, not {scope_kind!r}")
    scope = "" if scope_kind == "org" else scope.strip()
    if scope_kind != "org" and not scope:
        raise BudgetError(f"a {scope_kind} budget needs the {scope_kind} it is for")
    if period not in PERIODS:
        raise BudgetError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    name = default_name(scope_kind, scope, period) if name is None else name.strip()
    if not name:
        raise BudgetError("name must not be empty")
    if "\x00" in name + scope:
        raise BudgetError("name and scope must not contain NUL characters")
    return BudgetSpec(
        name=name,
        scope_kind=scope_kind,
        scope=scope,
        period=period,
        amount_usd=parse_amount(amount),
        thresholds=DEFAULT_THRESHOLDS if thresholds is None else parse_thresholds(thresholds),
        warn_projected=warn_projected,
    )


# --- the database ---------------------------------------------------------------------------

CURRENT = """
    SELECT name, scope_kind, scope, period, amount_usd, thresholds, warn_projected
    FROM budgets WHERE valid_to IS NULL ORDER BY name
"""
STARTS_AFTER = """
    SELECT valid_from > coalesce(%(now)s, now()) FROM budgets WHERE name = %(name)s AND valid_to IS NULL
"""
CLOSE = "UPDATE budgets SET valid_to = coalesce(%(now)s, now()) WHERE name = %(name)s AND valid_to IS NULL"
INSERT = """
    INSERT INTO budgets (name, scope_kind, scope, period, amount_usd, thresholds, warn_projected, valid_from)
    VALUES (%(name)s, %(scope_kind)s, %(scope)s, %(period)s, %(amount_usd)s, %(thresholds)s,
            %(warn_projected)s, coalesce(%(now)s, now()))
"""
# Serialises budget changes, so two writers cannot both close and insert one name.
LOCK = "LOCK TABLE budgets IN SHARE ROW EXCLUSIVE MODE"


def current_budgets(conn: psycopg.Connection[Any]) -> dict[str, BudgetSpec]:
    """The current version of every budget, by name."""
    return {
        row[0]: BudgetSpec(row[0], row[1], row[2], row[3], row[4], tuple(row[5]), row[6])
        for row in conn.execute(CURRENT).fetchall()
    }


def _close(conn: psycopg.Connection[Any], name: str, now: datetime | None) -> None:
    row = conn.execute(STARTS_AFTER, {"name": name, "now": now}).fetchone()
    if row is not None and row[0]:
        raise BudgetError(f"budget {name!r} has a version that starts after {now}: cannot change it then")
    conn.execute(CLOSE, {"name": name, "now": now})


def _write(conn: psycopg.Connection[Any], change: BudgetChange, now: datetime | None) -> None:
    if change.action in ("update", "remove"):
        _close(conn, change.name, now)
    if change.action in ("create", "update") and change.new:
        spec = change.new
        conn.execute(
            INSERT,
            {
                "name": spec.name,
                "scope_kind": spec.scope_kind,
                "scope": spec.scope,
                "period": spec.period,
                "amount_usd": spec.amount_usd,
                "thresholds": list(spec.thresholds),
                "warn_projected": spec.warn_projected,
                "now": now,
            },
        )


def _change(name: str, old: BudgetSpec | None, new: BudgetSpec | None) -> BudgetChange:
    if old is None:
        return BudgetChange("create", name, None, new)
    if new is None:
        return BudgetChange("remove", name, old, None)
    return BudgetChange("unchanged" if old == new else "update", name, old, new)


def set_budget(conn: psycopg.Connection[Any], spec: BudgetSpec, now: datetime | None = None) -> BudgetChange:
    """Create the budget, or make `spec` its new current version (nothing if unchanged). Commits.

    `now` (the database clock by default) is when the old version ends and the new begins."""
    with conn.transaction():
        conn.execute(LOCK)
        change = _change(spec.name, current_budgets(conn).get(spec.name), spec)
        _write(conn, change, now)
    return change


def remove_budget(conn: psycopg.Connection[Any], name: str, now: datetime | None = None) -> BudgetChange:
    """Close the current version of `name` (its past periods keep their judgement). Commits."""
    with conn.transaction():
        conn.execute(LOCK)
        old = current_budgets(conn).get(name)
        if old is None:
            raise BudgetError(f"no current budget named {name!r}")
        change = _change(name, old, None)
        _write(conn, change, now)
    return change


def plan_budgets(
    current: dict[str, BudgetSpec], declared: Sequence[BudgetSpec], *, prune: bool
) -> list[BudgetChange]:
    """What syncing `declared` would do: a change per declared name, and per other current
    budget a removal with `prune` (else it is kept and not listed). Sorted by name."""
    wanted = {spec.name: spec for spec in declared}
    if len(wanted) != len(declared):
        raise BudgetError("a budget name is declared twice")
    names = sorted(set(wanted) | (set(current) if prune else set()))
    return [_change(name, current.get(name), wanted.get(name)) for name in names]


def apply_budgets(
    conn: psycopg.Connection[Any],
    declared: Sequence[BudgetSpec],
    *,
    prune: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[BudgetChange]:
    """Sync the stored budgets with `declared` in one transaction; with `dry_run` only plan
    (nothing is written). Returns every change, unchanged ones included."""
    with conn.transaction():
        conn.execute(LOCK)
        changes = plan_budgets(current_budgets(conn), declared, prune=prune)
        if not dry_run:
            for change in changes:
                _write(conn, change, now)
    return changes


def kept_budgets(current: Iterable[str], declared: Sequence[BudgetSpec]) -> list[str]:
    """Current budgets a file does not declare (kept unless --prune)."""
    names = {spec.name for spec in declared}
    return sorted(name for name in current if name not in names)


def budget_state(conn: psycopg.Connection[Any], at: datetime | None = None) -> list[BudgetState]:
    """Every current budget in the period containing `at` (the database clock by default)."""
    rows = conn.execute("SELECT * FROM budget_state_at(coalesce(%s, now())) ORDER BY name", (at,)).fetchall()
    return [_state(row) for row in rows]


def budget_periods(conn: psycopg.Connection[Any], start: datetime, end: datetime) -> list[BudgetState]:
    """Every budget period overlapping [start, end), each judged against the version that applied then."""
    rows = conn.execute("SELECT * FROM budget_periods(%s, %s)", (start, end)).fetchall()
    return [_state(row) for row in rows]


def _state(row: Sequence[Any]) -> BudgetState:
    values = list(row[: len(fields(BudgetState))])
    values[11] = tuple(values[11])
    return BudgetState(*values)
