"""`agent-spend budget set | list | rm | apply`: options, output and exit codes.

The budgets themselves (versions, validation, the diff) are bridge.admin.budgets, the YAML
file bridge.admin.budget_file; what they have spent is the SQL of budget_state_at. Exit codes: 0 done
(a dry run included), 1 a budget, file or database error (the message says which), 2 a usage
error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import click
import psycopg

from bridge.admin.budget_file import load_budget_file
from bridge.admin.budgets import (
    PERIODS,
    BudgetError,
    BudgetState,
    apply_budgets,
    budget_state,
    current_budgets,
    kept_budgets,
    make_spec,
    parse_thresholds,
    remove_budget,
    set_budget,
)
from bridge.cli.options import DATABASE_URL


@contextmanager
def _connect(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    try:
        conn = psycopg.connect(database_url, application_name="agent-spend-budget", autocommit=True)
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"cannot connect to the database: {exc}") from None
    with conn:
        try:
            yield conn
        except BudgetError as exc:
            raise click.ClickException(str(exc)) from None
        except psycopg.errors.UndefinedTable:
            raise click.ClickException(
                "the database has no budgets table: run `agent-spend migrate`"
            ) from None
        except psycopg.Error as exc:
            raise click.ClickException(f"database error: {exc}") from None


@click.group("budget")
def budget_group() -> None:
    """Budgets for the org, a team, a developer or a repository (docs/budgets.md)."""


@budget_group.command("set")
@DATABASE_URL
@click.option("--org", is_flag=True, help="A budget for the whole organisation.")
@click.option("--team", help="A budget for this team.")
@click.option("--user", help="A budget for this developer (user_id, usually an email).")
@click.option("--repo", "repository", help="A budget for this repository (as the calls report it).")
@click.option("--period", type=click.Choice(PERIODS), default="month", show_default=True,
              help="UTC calendar month, ISO week (from Monday 00:00 UTC) or UTC day.")  # fmt: skip
@click.option("--amount", required=True, help="Budget per period, in USD (e.g. 500 or 1250.50).")
@click.option("--thresholds", default="50,80,100", show_default=True,
              help="Percentages of the amount that raise a warning, comma-separated.")  # fmt: skip
@click.option("--no-projected-warning", is_flag=True,
              help="Do not warn when the projected period end is above the amount.")  # fmt: skip
@click.option("--name", help="The budget's key (default: team:T:PERIOD, user:U:PERIOD, org:PERIOD, ...).")
def set_command(
    database_url: str,
    org: bool,
    team: str | None,
    user: str | None,
    repository: str | None,
    period: str,
    amount: str,
    thresholds: str,
    no_projected_warning: bool,
    name: str | None,
) -> None:
    """Create a budget, or change it: the old version keeps judging the periods it applied to."""
    scopes = [
        (k, v) for k, v in (("team", team), ("user", user), ("repository", repository)) if v is not None
    ]
    if org:
        scopes.insert(0, ("org", ""))
    if len(scopes) != 1:
        raise click.UsageError("give exactly one of --org, --team, --user, --repo")
    kind, scope = scopes[0]
    try:
        parsed_thresholds = parse_thresholds(thresholds)
        spec = make_spec(
            kind, scope, period, amount, name=name, thresholds=parsed_thresholds,
            warn_projected=not no_projected_warning,
        )  # fmt: skip
    except BudgetError as exc:
        raise click.BadParameter(str(exc)) from None
    with _connect(database_url) as conn:
        change = set_budget(conn, spec)
    if change.action == "unchanged":
        click.echo(f"unchanged: {spec.name}: {spec.describe()}")
    elif change.action == "create":
        click.echo(f"created: {spec.name}: {spec.describe()}")
    else:
        click.echo(f"updated: {change.describe()[2:]} (the previous version keeps its past periods)")


@budget_group.command("rm")
@DATABASE_URL
@click.argument("name")
def rm_command(database_url: str, name: str) -> None:
    """End a budget now; its past periods stay judged against it."""
    with _connect(database_url) as conn:
        remove_budget(conn, name)
    click.echo(f"removed: {name}")


def _state_json(state: BudgetState) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(round(value, 6))
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    return {key: plain(value) for key, value in vars(state).items()}


@budget_group.command("list")
@DATABASE_URL
@click.option("--json", "as_json", is_flag=True, help="One JSON array of the budget states.")
@click.option("--at", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
              help="Judge as of this instant (UTC unless an offset is given; default: now).")  # fmt: skip
def list_command(database_url: str, as_json: bool, at: datetime | None) -> None:
    """Every current budget in its current period: spent, percent, projection, status."""
    if at is not None and at.tzinfo is None:
        from datetime import UTC

        at = at.replace(tzinfo=UTC)
    with _connect(database_url) as conn:
        states = budget_state(conn, at)
    if as_json:
        click.echo(json.dumps([_state_json(s) for s in states], indent=2))
        return
    if not states:
        click.echo("no budgets (add one with `agent-spend budget set` or `budget apply FILE`)")
        return
    header = ("NAME", "SCOPE", "PERIOD", "AMOUNT", "SPENT", "PERCENT", "PROJECTED", "STATUS")
    rows = [
        (
            s.name,
            s.scope_kind if s.scope_kind == "org" else f"{s.scope_kind} {s.scope}",
            f"{s.period} from {s.period_start:%Y-%m-%d}",
            f"${s.amount_usd:,.2f}",
            f"${s.spent_usd:,.2f}",
            f"{s.percent:.1f} %",
            f"${s.projected_usd:,.2f}",
            s.status,
        )
        for s in states
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@budget_group.command("apply")
@DATABASE_URL
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only show what would change (a diff); nothing is written.")
@click.option("--prune", is_flag=True, help="Also remove the current budgets the file does not declare.")
def apply_command(database_url: str, file: str, dry_run: bool, prune: bool) -> None:
    """Sync the budgets with a YAML file (examples/budgets.yaml): create, update, and with --prune remove."""
    try:
        declared = load_budget_file(file)
    except BudgetError as exc:
        raise click.ClickException(str(exc)) from None
    with _connect(database_url) as conn:
        changes = apply_budgets(conn, declared, prune=prune, dry_run=dry_run)
        kept = [] if prune else kept_budgets(current_budgets(conn), declared)
    for change in changes:
        click.echo(change.describe())
    for name in kept:
        click.echo(f"  {name}: not in {file}, kept (--prune removes it)")
    counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "remove", "unchanged")}
    summary = (
        f"{counts['create']} to create, {counts['update']} to update, {counts['remove']} to remove, "
        f"{counts['unchanged']} unchanged"
    )
    click.echo(f"dry run: {summary}; nothing changed" if dry_run else summary.replace(" to ", " "))
