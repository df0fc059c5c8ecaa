"""`agent-spend retention`: options and exit codes; the deleting is bridge.admin.retention."""

from __future__ import annotations

import click
import psycopg

from bridge import config
from bridge.admin.retention import apply_retention, horizon_for_age, parse_age
from bridge.cli.options import DATABASE_URL


@click.command("retention")
@DATABASE_URL
@click.option("--older-than", "older_than", required=True, help="Age of raw rows to drop, e.g. 90d or 12w.")
@click.option(
    "--batch-size",
    default=config.RETENTION_BATCH_ROWS,
    show_default=True,
    type=click.IntRange(1),
    help="Rows per DELETE transaction (outside day partitions, which are dropped whole) and keys per prune.",
)
@click.option("--dry-run", is_flag=True, help="Only count the rows that would be deleted.")
def retention_command(database_url: str, older_than: str, batch_size: int, dry_run: bool) -> None:
    """Delete raw rows older than an age (from a UTC day boundary); the rollups keep their history."""
    try:
        age = parse_age(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    try:
        conn = psycopg.connect(database_url, application_name="agent-spend-retention")
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"cannot connect to the database: {exc}") from None
    with conn:
        horizon = horizon_for_age(conn, age)
        result = apply_retention(
            conn,
            horizon,
            batch_size=batch_size,
            dry_run=dry_run,
            on_batch=lambda n: click.echo(f"deleted {n} rows", err=True) if n else None,
            on_partition=lambda name, n: click.echo(f"dropped partition {name} ({n} rows)", err=True),
        )
    when = result.horizon.isoformat()
    if result.dry_run:
        click.echo(
            f"dry run: would delete {result.deleted} raw rows before {when} "
            f"({result.partitions} day partitions dropped whole); nothing changed"
        )
        return
    recorded = result.recorded_horizon.isoformat() if result.recorded_horizon else when
    click.echo(
        f"deleted {result.deleted} raw rows before {when} in {result.batches} batches "
        f"and {result.partitions} dropped day partitions; rollups keep that history "
        f"(retention horizon {recorded}); {result.keys_pruned} old call keys pruned, "
        f"{result.accounting_pruned} rows of per-minute ingest accounting"
    )
