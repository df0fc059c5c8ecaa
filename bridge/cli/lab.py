"""`agent-spend lab up|down|clean|database-url`: options and exit codes; the work is bridge.lab.lab."""

from __future__ import annotations

from collections.abc import Callable

import click

from bridge import config
from bridge.lab import lab


def _run(action: Callable[[], object]) -> None:
    try:
        action()
    except lab.LabError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("lab")
def lab_group() -> None:
    """The local lab without Docker (driven by `make lab`, `make down`, `make clean`)."""


@lab_group.command("up")
@click.option("--grpc-port", default=config.GRPC_PORT, show_default=True)
@click.option("--http-port", default=config.HTTP_PORT, show_default=True)
@click.option("--pg-port", default=config.LAB_PG_PORT, show_default=True, envvar="AGENT_SPEND_LAB_PG_PORT")
@click.option("--grafana-port", default=config.LAB_GRAFANA_PORT, show_default=True)
def lab_up(grpc_port: int, http_port: int, pg_port: int, grafana_port: int) -> None:
    """Start PostgreSQL, migrate, start the bridge (and Grafana if installed); return when ready."""
    _run(lambda: lab.up(lab.LabPaths(lab.ROOT), grpc_port, http_port, pg_port, grafana_port))


@lab_group.command("down")
def lab_down() -> None:
    """Stop the lab's processes, keeping data."""
    _run(lambda: lab.down(lab.LabPaths(lab.ROOT)))


@lab_group.command("clean")
def lab_clean() -> None:
    """Stop the lab and delete its data."""
    _run(lambda: lab.clean(lab.LabPaths(lab.ROOT)))


@lab_group.command("database-url")
def lab_database_url() -> None:
    """Print the lab database URL (for `make psql`)."""
    try:
        url = lab.database_url(lab.LabPaths(lab.ROOT))
    except lab.LabError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(url)
