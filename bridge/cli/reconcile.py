"""`agent-spend reconcile`: pull the providers' billing reports, or import their console CSVs.

`reconcile` alone runs `reconcile pull`. Keys come from ANTHROPIC_ADMIN_KEY / OPENAI_ADMIN_KEY
or from the files named by --anthropic-key-file / --openai-key-file; they are never options
(a process list would show them), never printed and never stored. The pulling is
bridge.admin.reconcile.pull, the import bridge.admin.reconcile.csv_import.

Exit codes: 0 every report asked for was written (a provider without a key is skipped with a
message unless it was asked for by name); 1 a report failed (its error is printed and kept in
billing_sync.last_error) or the database is unreachable; 2 bad options, an unreadable key
file, or a named provider without a key.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

import click
import psycopg

from bridge.admin.reconcile import anthropic, openai
from bridge.admin.reconcile.client import (
    BACKOFF_SECONDS,
    RETRY_ATTEMPTS,
    TIMEOUT_SECONDS,
    AdminClient,
    KeyFormatError,
    RetryPolicy,
    Secret,
)
from bridge.admin.reconcile.csv_import import CsvFormatError, Kind, Provider, import_csv
from bridge.admin.reconcile.pull import FIRST_RUN_DAYS, OVERLAP_DAYS, PullResult, ReportSource, pull
from bridge.cli.options import DATABASE_URL
from bridge.cli.reconcile_status import status_command

KEY_ENV = {"anthropic": "ANTHROPIC_ADMIN_KEY", "openai": "OPENAI_ADMIN_KEY"}
DAY = click.DateTime(formats=["%Y-%m-%d"])


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def read_key(provider: str, key_file: Path | None) -> Secret | None:
    """The provider's admin key from its file (when given) or its environment variable."""
    if key_file is not None:
        try:
            mode = key_file.stat().st_mode
            text = key_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise click.BadParameter(
                f"cannot read {key_file}: {reason}", param_hint=f"--{provider}-key-file"
            ) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            click.echo(f"warning: {key_file} is readable by others; chmod 600 it", err=True)
        source = str(key_file)
    else:
        text = os.environ.get(KEY_ENV[provider], "")
        if not text.strip():
            return None
        source = KEY_ENV[provider]
    try:
        return Secret(text)
    except KeyFormatError as exc:
        raise click.BadParameter(f"{source}: {exc}", param_hint=f"--{provider}-key-file") from None


@click.group("reconcile", invoke_without_command=True)
@click.pass_context
def reconcile_group(ctx: click.Context) -> None:
    """Set what the providers billed beside what telemetry saw (docs/reconcile.md); alone, runs `pull`."""
    if ctx.invoked_subcommand is None:
        # Parse `pull` with no arguments, so its environment variables and defaults apply.
        with pull_command.make_context("pull", [], parent=ctx) as sub:
            pull_command.invoke(sub)


@reconcile_group.command("pull")
@DATABASE_URL
@click.option(
    "--provider",
    type=click.Choice(["anthropic", "openai", "all"]),
    default="all",
    show_default=True,
    help="Which provider's reports to pull; a named one must have a key.",
)
@click.option(
    "--since", type=DAY, help="First UTC day to pull (default: resume after the last complete day)."
)
@click.option("--until", type=DAY, help="Last UTC day to pull (default: today).")
@click.option(
    "--overlap-days",
    default=OVERLAP_DAYS,
    show_default=True,
    type=click.IntRange(0, 31),
    help="Complete days pulled again on resume, to pick up the providers' late corrections.",
)
@click.option(
    "--first-run-days",
    default=FIRST_RUN_DAYS,
    show_default=True,
    type=click.IntRange(1, 3660),
    help="Days pulled by a first run without --since.",
)
@click.option(
    "--anthropic-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ANTHROPIC_ADMIN_KEY_FILE",
    help="File holding the Anthropic Admin API key (sk-ant-admin...); else env ANTHROPIC_ADMIN_KEY.",
)
@click.option(
    "--openai-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="OPENAI_ADMIN_KEY_FILE",
    help="File holding the OpenAI admin key; else env OPENAI_ADMIN_KEY.",
)
@click.option(
    "--anthropic-base-url",
    default=anthropic.DEFAULT_BASE_URL,
    show_default=True,
    envvar="AGENT_SPEND_ANTHROPIC_ADMIN_URL",
    help="Where Anthropic's Admin API is (a proxy or a fake).",
)
@click.option(
    "--openai-base-url",
    default=openai.DEFAULT_BASE_URL,
    show_default=True,
    envvar="AGENT_SPEND_OPENAI_ADMIN_URL",
    help="Where OpenAI's admin API is (a proxy or a fake).",
)
@click.option(
    "--timeout",
    default=TIMEOUT_SECONDS,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds per request.",
)
@click.option(
    "--retries",
    default=RETRY_ATTEMPTS - 1,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Retries of a request answered 429/5xx (honouring Retry-After) before the report fails.",
)
def pull_command(
    database_url: str,
    provider: str,
    since: datetime | None,
    until: datetime | None,
    overlap_days: int,
    first_run_days: int,
    anthropic_key_file: Path | None,
    openai_key_file: Path | None,
    anthropic_base_url: str,
    openai_base_url: str,
    timeout: float,
    retries: int,
) -> None:
    """Pull the providers' usage and cost reports into billing_lines (incremental, idempotent)."""
    if since is not None and until is not None and since > until:
        raise click.BadParameter("--since is after --until", param_hint="--since")
    wanted = ["anthropic", "openai"] if provider == "all" else [provider]
    key_files = {"anthropic": anthropic_key_file, "openai": openai_key_file}
    base_urls = {"anthropic": anthropic_base_url, "openai": openai_base_url}
    retry = RetryPolicy(attempts=retries + 1, backoff=BACKOFF_SECONDS)
    clients: list[AdminClient] = []
    sources: list[ReportSource] = []
    for name in wanted:
        key = read_key(name, key_files[name])
        if key is None:
            hint = f"set {KEY_ENV[name]} or --{name}-key-file"
            if provider != "all":
                raise click.UsageError(f"{name}: no admin key ({hint})")
            click.echo(f"{name}: skipped, no admin key ({hint})", err=True)
            continue
        module = anthropic if name == "anthropic" else openai
        client = module.make_client(key, base_urls[name], retry=retry, timeout=timeout)
        clients.append(client)
        sources.extend(module.sources(client))
    if not sources:
        click.echo("nothing pulled: no provider has an admin key", err=True)
        return
    try:
        conn = psycopg.connect(database_url, autocommit=True, application_name="agent-spend-reconcile")
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"cannot connect to the database: {exc}") from None
    try:
        with conn:
            results = pull(
                conn,
                sources,
                now=datetime.now(UTC),
                since=_day(since),
                until=_day(until),
                overlap_days=overlap_days,
                first_run_days=first_run_days,
            )
    except psycopg.Error as exc:
        raise click.ClickException(f"database error: {exc}") from None
    finally:
        for client in clients:
            client.close()
    for result in results:
        click.echo(_describe(result), err=not result.ok)
    failed = [r for r in results if not r.ok]
    if failed:
        raise click.ClickException(
            f"{len(failed)} of {len(results)} reports failed (see billing_sync.last_error)"
        )


def _describe(result: PullResult) -> str:
    name = f"{result.provider} {result.report}"
    through = result.complete_through.isoformat() if result.complete_through else "none yet"
    if result.error is not None:
        return f"{name}: FAILED: {result.error} (complete through {through})"
    if result.first is None:
        return f"{name}: nothing to pull (complete through {through})"
    return (
        f"{name}: replaced {result.first}..{result.last} ({result.days_written} days, "
        f"{result.lines} lines); complete through {through}"
    )


@reconcile_group.command("import")
@DATABASE_URL
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--provider",
    type=click.Choice(["anthropic", "openai"]),
    help="Expected provider (default: detected from the header).",
)
@click.option("--kind", type=click.Choice(["usage", "cost"]), help="Expected kind (default: detected).")
def import_command(database_url: str, file: Path, provider: str | None, kind: str | None) -> None:
    """Import a console CSV export (usage or cost, Anthropic or OpenAI) into billing_lines."""
    try:
        conn = psycopg.connect(database_url, autocommit=True, application_name="agent-spend-reconcile")
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"cannot connect to the database: {exc}") from None
    try:
        with conn:
            result = import_csv(
                conn,
                file,
                now=datetime.now(UTC),
                provider=cast(Provider | None, provider),
                kind=cast(Kind | None, kind),
            )
    except CsvFormatError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    except psycopg.Error as exc:
        raise click.ClickException(f"database error: {exc}") from None
    span = f"{result.first}..{result.last}" if result.first else "no days"
    click.echo(
        f"{result.provider} {result.report} ({result.format}): replaced {span} "
        f"({result.days} days, {result.lines} lines from {result.rows} rows)"
    )


reconcile_group.add_command(status_command)
