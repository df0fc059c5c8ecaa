"""`agent-spend rollup verify|rebuild`: options, output and exit codes; the SQL is bridge.admin.rollups."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
import psycopg

from bridge.admin.rollups import rebuild, retention_horizon, verify
from bridge.cli.options import DATABASE_URL


def _connect(database_url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(database_url, application_name="agent-spend-rollup")
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"cannot connect to the database: {exc}") from None


@click.group("rollup")
def rollup_group() -> None:
    """Check and repair the pre-aggregated rollups (spend_hourly, spend_daily[_coarse], session_rollup)."""


@rollup_group.command("verify")
@DATABASE_URL
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="Differences to print.")
def verify_command(database_url: str, limit: int) -> None:
    """Compare the rollups with a fresh aggregation of the raw rows; exit 1 listing differences."""
    with _connect(database_url) as conn:
        result = verify(conn)
    since = (
        f"buckets since the retention horizon {result.horizon.isoformat()}"
        if result.horizon
        else "all buckets"
    )
    if result.ok:
        click.echo(f"rollups match the raw rows ({since})")
        return
    for difference in result.differences[:limit]:
        click.echo(difference.describe())
    hidden = len(result.differences) - limit
    click.echo(
        f"{len(result.differences)} rollup rows differ from the raw rows ({since})"
        + (f"; {hidden} not shown (--limit)" if hidden > 0 else "")
        + "; `agent-spend rollup rebuild` recomputes them",
        err=True,
    )
    raise SystemExit(1)


@rollup_group.command("rebuild")
@DATABASE_URL
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="UTC date to recompute from (default: everything after the retention horizon).",
)
def rebuild_command(database_url: str, since: datetime | None) -> None:
    """Recompute the rollups from the raw rows in one transaction (history before the horizon is kept)."""
    start = since.replace(tzinfo=UTC) if since else None
    with _connect(database_url) as conn:
        counts = rebuild(conn, start)
        horizon = retention_horizon(conn)
    if horizon and (start is None or start < horizon):
        click.echo(f"buckets before the retention horizon {horizon.isoformat()} were kept as they are")
    for count in counts:
        click.echo(f"{count.rollup}: removed {count.removed} rows, wrote {count.written}")
