"""`agent-spend reconcile status`: options and output; the figures are bridge.admin.reconcile.status."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import click
import psycopg

from bridge.admin.reconcile.status import ReconcileStatus, as_json, reconcile_status
from bridge.cli.options import DATABASE_URL

DEFAULT_DAYS = 30
MISSING = "-"


@click.command("status")
@DATABASE_URL
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help=f"First UTC day (default: {DEFAULT_DAYS} days before --until).",
)
@click.option(
    "--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last UTC day (default: today, UTC)."
)
@click.option("--json", "as_json_output", is_flag=True, help="Print the figures as JSON.")
def status_command(
    database_url: str, since: datetime | None, until: datetime | None, as_json_output: bool
) -> None:
    """Billed by the providers beside what telemetry saw: coverage per provider, day and model."""
    last = until.date() if until else datetime.now(UTC).date()
    first = since.date() if since else last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise click.BadParameter(f"--until {last} is before --since {first}", param_hint="--until")
    try:
        with psycopg.connect(database_url, application_name="agent-spend-reconcile") as conn:
            status = reconcile_status(conn, first, last)
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"cannot connect to the database: {exc}") from None
    if as_json_output:
        click.echo(json.dumps(as_json(status), indent=2))
    else:
        click.echo(render(status))


def render(status: ReconcileStatus) -> str:
    """The figures as aligned tables: totals first, then days, unseen and unbilled spend, pulls."""
    out = [f"Reconciliation, UTC days {status.since} .. {status.until}", ""]
    if not status.days:
        out.append("No billed days in this range: run `agent-spend reconcile` (or `reconcile import`) first.")
        out.append("")
    out += _section(
        "Totals (coverage = telemetry / billed)",
        ["provider", "days", "billed $", "seen $", "coverage $", "billed tokens", "seen tokens",
         "coverage tokens", "never seen $", "above bill $", "seat plan $"],
        [[t.provider, str(t.days), _usd(t.billed_usd), _usd(t.telemetry_cost_usd), _pct(t.coverage_usd_ratio),
          _count(t.billed_tokens), _count(t.telemetry_tokens), _pct(t.coverage_tokens_ratio),
          _usd(t.unseen_usd), _usd(t.unbilled_usd), _usd(t.seat_list_usd)]
         for t in status.totals if status.days],
    )  # fmt: skip
    out += _section(
        "Per provider, day and model",
        ["provider", "day", "model", "billed $", "seen $", "coverage $", "billed tokens", "seen tokens",
         "coverage tokens", "reports"],
        [[d.provider, d.day.isoformat(), d.model or "(none)", _usd(d.billed_usd), _usd(d.telemetry_cost_usd),
          _pct(d.coverage_usd_ratio), _count(d.billed_tokens), _count(d.telemetry_tokens),
          _pct(d.coverage_tokens_ratio), f"{d.tokens_report or MISSING}/{d.usd_report or MISSING}"]
         for d in status.days],
    )  # fmt: skip
    out += _section(
        "Billed, never seen in telemetry",
        ["provider", "kind", "who", "model", "days", "unseen tokens", "unseen $"],
        [[u.provider, u.kind, u.who, u.model or "(none)", str(u.days), _count(u.unseen_tokens),
          _usd(u.unseen_usd)] for u in status.unmonitored],
    )  # fmt: skip
    out += _section(
        "Telemetry with no bill behind it",
        ["provider", "reason", "model", "days", "calls", "tokens", "$"],
        [[u.provider, u.reason, u.model, str(u.days), _count(u.telemetry_calls), _count(u.unbilled_tokens),
          _usd(u.unbilled_usd)] for u in status.unbilled],
    )  # fmt: skip
    out += _section(
        "Billing pulls",
        ["provider", "report", "complete through", "last day with lines", "last pulled (UTC)", "error"],
        [[s.provider, s.report, _day(s.complete_through), _day(s.last_day_with_lines),
          s.last_pulled_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if s.last_pulled_at else MISSING,
          s.last_error or ""] for s in status.sync],
    )  # fmt: skip
    return "\n".join(out).rstrip()


def _section(title: str, header: Sequence[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    return [title, *_table(header, rows), ""]


def _table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    """Text columns left-aligned, figures right-aligned (a column is a figure if every cell is)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    numeric = [all(_figure(r[i]) for r in rows) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _figure(cell: str) -> bool:
    return cell == MISSING or cell.replace(",", "").replace(".", "").replace("%", "").strip().isdigit()


def _usd(value: Decimal | None) -> str:
    return MISSING if value is None else f"{value:,.2f}"


def _pct(value: Decimal | None) -> str:
    return MISSING if value is None else f"{value * 100:,.1f} %"


def _count(value: Decimal | int | None) -> str:
    return MISSING if value is None else f"{int(value):,}"


def _day(value: date | None) -> str:
    return value.isoformat() if value else MISSING
