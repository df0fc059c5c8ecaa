"""`agent-spend reader-role`: options and exit codes; the role logic is bridge.admin.reader_role."""

from __future__ import annotations

import os

import click
import psycopg

from bridge.admin.reader_role import GROUP, READER_SETTINGS, ReaderRoleError, ensure_reader_login
from bridge.cli.options import DATABASE_URL


@click.command("reader-role")
@DATABASE_URL
@click.option("--login", required=True, help="Name of the LOGIN role Grafana connects as, e.g. grafana.")
@click.option(
    "--password-env",
    required=True,
    metavar="VAR",
    help="Environment variable holding its password (never passed on the command line).",
)
@click.option(
    "--statement-timeout",
    default=READER_SETTINGS["statement_timeout"],
    show_default=True,
    help="Longest query the login may run (PostgreSQL interval, e.g. 30s, 2min).",
)
@click.option(
    "--keep-public-temp",
    is_flag=True,
    help="Leave TEMPORARY granted to PUBLIC (a database shared with other applications); "
    "by default it is revoked from PUBLIC and kept for the role running this command.",
)
def reader_role_command(
    database_url: str, login: str, password_env: str, statement_timeout: str, keep_public_temp: bool
) -> None:
    """Create or update Grafana's read-only login (a member of agent_spend_reader)."""
    password = os.environ.get(password_env, "")
    if not password:
        raise click.BadParameter(
            f"environment variable {password_env} is unset or empty", param_hint="--password-env"
        )
    try:
        with psycopg.connect(database_url, application_name="agent-spend-reader-role") as conn:
            result = ensure_reader_login(
                conn,
                login,
                password,
                {"statement_timeout": statement_timeout},
                keep_public_temp=keep_public_temp,
            )
    except ReaderRoleError as exc:
        raise click.ClickException(str(exc)) from None
    except psycopg.Error as exc:
        raise click.ClickException(f"could not configure role {login!r}: {exc}") from None
    verb = "created" if result.created else "updated"
    chosen = {**READER_SETTINGS, "statement_timeout": statement_timeout}
    settings = ", ".join(f"{k}={v}" for k, v in chosen.items())
    click.echo(
        f"{verb} login role {login!r}: member of {GROUP}, read-only ({settings}), "
        f"{'TEMP as for PUBLIC' if keep_public_temp else 'no TEMP'}, password from ${password_env}"
    )
