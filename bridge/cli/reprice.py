"""`agent-spend reprice`: options, confirmation and exit codes; the work is bridge.admin.reprice."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from bridge.admin.reprice import apply, header, render, scan, usd, utc_bound


@click.command("reprice")
@click.option("--database-url", envvar="AGENT_SPEND_DATABASE_URL", required=True, help="PostgreSQL URL.")
@click.option("--since", required=True, type=click.DateTime(), help="First call time to reprice (UTC).")
@click.option("--until", type=click.DateTime(), help="Stop before this call time (UTC); default: no end.")
@click.option("--dry-run", is_flag=True, help="Print the per-model difference and change nothing.")
@click.option("--yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--price-overrides",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="AGENT_SPEND_PRICE_OVERRIDES",
    help="YAML file of operator price overrides (the same file the bridge uses).",
)
def reprice_command(
    database_url: str,
    since: datetime,
    until: datetime | None,
    dry_run: bool,
    yes: bool,
    price_overrides: Path | None,
) -> None:
    """Recompute the costs of stored calls with the current price table and overrides."""
    import psycopg

    from bridge.pricing.overrides import PriceOverridesError
    from bridge.pricing.pricer import Pricer

    try:
        pricer = Pricer(price_overrides)
    except PriceOverridesError as exc:
        raise click.ClickException(exc.message) from None
    start = utc_bound(since)
    end = utc_bound(until) if until is not None else None
    if end is not None and end <= start:
        raise click.BadParameter("must be after --since", param_hint="--until")
    try:
        with psycopg.connect(database_url, application_name="agent-spend-reprice") as conn:
            with conn.transaction():
                preview = scan(conn, pricer, start, end, stage=not dry_run)
            click.echo(header(pricer.price_version, start, end, preview))
            click.echo(render(preview))
            if dry_run or preview.changed == 0:
                click.echo("Dry run: nothing changed." if dry_run else "Nothing to change.")
                return
            if not yes:
                click.confirm(f"Update {preview.changed:,} rows?", abort=True)
            updated, difference = apply(conn, preview.changed)
    except psycopg.Error as exc:
        raise click.ClickException(f"database error: {exc}".strip()) from None
    click.echo(f"Updated {updated:,} rows; total cost changed by {usd(difference, sign=True)} USD.")
    if updated < preview.changed:
        click.echo(f"Skipped {preview.changed - updated:,} rows that changed since the preview; run again.")
