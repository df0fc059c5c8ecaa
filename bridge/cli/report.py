"""`agent-spend report daily|weekly|monthly|sessions|chargeback|budgets`: options and output.

The figures are bridge.admin.reports, the rendering bridge.admin.report_format; docs/reports.md
describes both. The connection is read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import click
import psycopg

from bridge.admin import report_periods, reports
from bridge.admin.report_format import FORMATS, render
from bridge.cli.options import DATABASE_URL

APPLICATION_NAME = "agent-spend-report"

FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people (dollars rounded to cents), json for scripts, csv for spreadsheets "
    "(exact dollars in both).",
)
NOW = click.option(
    "--now",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    hidden=True,
    help="The present instant (UTC unless an offset is given); for tests.",
)
SINCE = click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="First UTC day (default: see the command)."
)
UNTIL = click.option(
    "--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last UTC day, included (default: today, UTC)."
)


def _filter_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for name, help_text in reversed(
        [
            ("team", "Only these teams (repeat for several)."),
            ("user", "Only these users."),
            ("model", "Only these models."),
            ("harness", "Only these harnesses."),
            ("repo", "Only these repositories ('(none)' for calls without one)."),
            ("environment", "Only these environments."),
        ]
    ):
        function = click.option(f"--{name}", f"filter_{name}", multiple=True, help=help_text)(function)
    return function


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC)


def _today(now: datetime | None) -> date:
    return _now(now).date()


def _range(
    kind: str, since: datetime | None, until: datetime | None, now: datetime | None
) -> tuple[date, date]:
    last = until.date() if until else _today(now)
    first = since.date() if since else report_periods.default_range(kind, last)[0]
    if last < first:
        raise click.BadParameter(f"--until {last} is before --since {first}", param_hint="--until")
    return first, last


def _filters(options: dict[str, tuple[str, ...]]) -> reports.Filters:
    return reports.Filters(**{name.removeprefix("filter_"): values for name, values in options.items()})


def _run(database_url: str, produce: Callable[[psycopg.Connection[Any]], Any], fmt: str) -> None:
    try:
        with psycopg.connect(
            database_url, application_name=APPLICATION_NAME, options="-c default_transaction_read_only=on"
        ) as conn:
            report = produce(conn)
    except report_periods.ReportError as exc:
        raise click.BadParameter(exc.message, param_hint=f"--{exc.parameter}") from None
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"cannot connect to the database: {exc}") from None
    except psycopg.errors.UndefinedFunction as exc:
        raise click.ClickException(
            f"the database schema is not current (run `agent-spend migrate`): {exc}"
        ) from None
    click.echo(render(report, fmt).rstrip("\n"))


@click.group("report")
def report_group() -> None:
    """Spend reports from the rollups: tables to read, JSON for scripts, CSV for finance."""


def _spend_command(kind: str, summary: str) -> click.Command:
    @click.command(kind, help=summary)
    @DATABASE_URL
    @SINCE
    @UNTIL
    @click.option("--by", type=click.Choice(reports.DIMENSIONS), help="One row per value of this dimension.")
    @_filter_options
    @FORMAT
    @NOW
    def command(
        database_url: str,
        since: datetime | None,
        until: datetime | None,
        by: str | None,
        fmt: str,
        now: datetime | None,
        **filters: tuple[str, ...],
    ) -> None:
        first, last = _range(kind, since, until, now)
        _run(
            database_url,
            lambda conn: reports.spend_report(
                conn, cast(reports.SpendKind, kind), first, last, by, _filters(filters)
            ),
            fmt,
        )

    return command


report_group.add_command(
    _spend_command("daily", "Spend per UTC day (default: the last 7 days, today included).")
)
report_group.add_command(
    _spend_command(
        "weekly", "Spend per ISO week, Monday to Sunday (default: the last 4 weeks, this one included)."
    )
)
report_group.add_command(
    _spend_command("monthly", "Spend per UTC month (default: the last 3 months, this one included).")
)


@report_group.command("sessions")
@DATABASE_URL
@SINCE
@UNTIL
@click.option(
    "--by",
    type=click.Choice(list(reports.SESSION_DIMENSIONS)),
    help="One row per value of this dimension instead of one per session.",
)
@_filter_options
@click.option(
    "--limit",
    default=reports.SESSION_LIMIT,
    show_default=True,
    type=click.IntRange(1),
    help="Sessions listed (the costliest); the totals cover all of them.",
)
@FORMAT
@NOW
def sessions_command(
    database_url: str,
    since: datetime | None,
    until: datetime | None,
    by: str | None,
    limit: int,
    fmt: str,
    now: datetime | None,
    **filters: tuple[str, ...],
) -> None:
    """Sessions active in the range (default: the last 7 days), each with its whole life's cost."""
    first, last = _range("sessions", since, until, now)
    _run(
        database_url,
        lambda conn: reports.sessions_report(conn, first, last, by, _filters(filters), limit),
        fmt,
    )


@report_group.command("chargeback")
@DATABASE_URL
@click.option("--month", help="UTC month, YYYY-MM (default: the previous month).")
@click.option("--by", type=click.Choice(reports.CHARGEBACK_BY), default="team", show_default=True)
@FORMAT
@NOW
def chargeback_command(database_url: str, month: str | None, by: str, fmt: str, now: datetime | None) -> None:
    """Per cost centre for one month: cost, list, reported and (with reconciliation) billed dollars."""
    if month is None:
        month = (_today(now).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    _run(database_url, lambda conn: reports.chargeback_report(conn, month, by), fmt)


@report_group.command("budgets")
@DATABASE_URL
@FORMAT
@NOW
def budgets_command(database_url: str, fmt: str, now: datetime | None) -> None:
    """Every budget's current period: amount, spent, projection and status."""
    moment = _now(now)
    _run(database_url, lambda conn: reports.budgets_report(conn, moment), fmt)
