"""`agent-spend alerts`: run the alert views and deliver what fires (docs/alerts.md).

`alerts run --once` (cron, a systemd timer) or `alerts run --loop --interval S` evaluates
every alert kind, records it in alert_state and sends each new firing and each resolution
once, to stdout and to every --webhook (generic JSON) and --slack-webhook (Slack-compatible
`{"text": ...}`). `alerts test` sends a sample notice to each destination. `alerts list`
shows what fires now and the recorded state. The work is bridge.admin.alerts.

Webhook URLs are secrets: pass them as options or, better, in AGENT_SPEND_ALERT_WEBHOOKS /
AGENT_SPEND_ALERT_SLACK_WEBHOOKS (space-separated); they are never printed or stored.

Exit codes: 0 every notice due was delivered; 1 a delivery failed (printed; retried by the
next run with backoff) or the database is unreachable; 2 bad options.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import click
import psycopg

from bridge import config
from bridge.admin.alert_delivery import (
    Destination,
    StdoutDestination,
    WebhookDestination,
    json_payload,
    stdout_line,
)
from bridge.admin.alerts import RunResult, list_state, run_loop, run_once, send_test
from bridge.cli.options import DATABASE_URL

WEBHOOK = click.option(
    "--webhook",
    "webhooks",
    multiple=True,
    envvar="AGENT_SPEND_ALERT_WEBHOOKS",
    help="POST generic JSON to this URL (repeat; env AGENT_SPEND_ALERT_WEBHOOKS, space-separated).",
)
SLACK_WEBHOOK = click.option(
    "--slack-webhook",
    "slack_webhooks",
    multiple=True,
    envvar="AGENT_SPEND_ALERT_SLACK_WEBHOOKS",
    help='POST Slack-compatible {"text": ...} to this URL (repeat; env AGENT_SPEND_ALERT_SLACK_WEBHOOKS).',
)


def _now() -> datetime:
    return datetime.now(UTC)


def destinations(
    webhooks: Sequence[str], slack_webhooks: Sequence[str], *, stdout: bool = True
) -> list[Destination]:
    """stdout (unless turned off) and one destination per URL, duplicates dropped."""
    found: list[Destination] = [StdoutDestination()] if stdout else []
    try:
        found += [WebhookDestination(url, "json") for url in dict.fromkeys(webhooks)]
        found += [WebhookDestination(url, "slack") for url in dict.fromkeys(slack_webhooks)]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--webhook / --slack-webhook") from None
    return found


def _report(result: RunResult, dry_run: bool) -> None:
    if dry_run:
        click.echo(
            f"dry run at {result.now.isoformat()}: {len(result.firing)} firing, nothing recorded or sent"
        )
        for alert in result.fired:
            click.echo(f"  would fire: {alert.kind} {alert.subject} ({alert.period_key}): {alert.summary}")
        for alert in result.resolved:
            click.echo(f"  would resolve: {alert.kind} {alert.subject} ({alert.period_key})")
        return
    click.echo(
        f"alerts: {len(result.firing)} firing, {len(result.fired)} new, {len(result.resolved)} resolved; "
        f"{len(result.sent)} notice(s) delivered, {len(result.failed)} failed",
        err=True,
    )
    for failure in result.failed:
        retry = "given up" if failure.gave_up else "retried by the next run"
        click.echo(f"delivery failed ({retry}): {failure.notice.id}: {failure.error}", err=True)


@click.group("alerts")
def alerts_group() -> None:
    """Budget, runaway, anomaly, silence, unpriced and coverage alerts (docs/alerts.md)."""


@alerts_group.command("run")
@DATABASE_URL
@click.option("--once", "mode", flag_value="once", default=True, help="Run once and exit (cron, timers).")
@click.option("--loop", "mode", flag_value="loop", help="Run every --interval seconds until stopped.")
@click.option(
    "--interval",
    default=config.ALERT_LOOP_INTERVAL_SECONDS,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds between runs with --loop.",
)
@WEBHOOK
@SLACK_WEBHOOK
@click.option("--dry-run", is_flag=True, help="Show what would fire or resolve; record and send nothing.")
def run_command(
    database_url: str,
    mode: str,
    interval: float,
    webhooks: tuple[str, ...],
    slack_webhooks: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Evaluate every alert kind and deliver each new firing and resolution once."""
    targets = destinations(webhooks, slack_webhooks)
    try:
        if mode == "once" or dry_run:
            try:
                result = run_once(database_url, targets, _now(), dry_run=dry_run)
            except psycopg.Error as exc:
                raise click.ClickException(f"database: {exc}".strip()) from None
            _report(result, dry_run)
            if not result.ok:
                raise SystemExit(1)
            return
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        click.echo(f"alerts: running every {interval:g}s (SIGTERM or Ctrl-C stops)", err=True)
        run_loop(
            database_url,
            targets,
            interval,
            clock=_now,
            stop=stop,
            on_result=lambda r: _report(r, False),
            on_error=lambda e: click.echo(f"alerts: database: {e}; retrying in {interval:g}s", err=True),
        )
    finally:
        for target in targets:
            target.close()


@alerts_group.command("test")
@WEBHOOK
@SLACK_WEBHOOK
def test_command(webhooks: tuple[str, ...], slack_webhooks: tuple[str, ...]) -> None:
    """Send a sample notice to stdout and each webhook; exit 1 if one fails."""
    targets = destinations(webhooks, slack_webhooks)
    try:
        results = send_test(targets, _now())
    finally:
        for target in targets:
            target.close()
    failed = [r for r in results if r.error]
    for r in results:
        click.echo(f"{r.destination}: {'FAILED ' + (r.error or '') if r.error else 'ok'}", err=True)
    if failed:
        raise SystemExit(1)


@alerts_group.command("list")
@DATABASE_URL
@click.option("--json", "as_json", is_flag=True, help="One JSON object: firing now, and the state.")
def list_command(database_url: str, as_json: bool) -> None:
    """What fires now, the open alerts and those resolved in the last 7 days, with delivery counts."""
    now = _now()
    try:
        firing, state = list_state(database_url, now)
    except psycopg.Error as exc:
        raise click.ClickException(f"database: {exc}".strip()) from None
    if as_json:
        from bridge.admin.alert_delivery import Notice

        document: dict[str, Any] = {
            "now": now.isoformat(),
            "firing": [json_payload(Notice("firing", a, now)) for a in firing],
            "state": [
                {
                    **json_payload(
                        Notice("resolved" if s.resolved_at else "firing", s.alert, s.fired_at, s.resolved_at)
                    ),
                    "deliveries": {"sent": s.sent, "pending": s.pending, "failed": s.failed},
                    "last_error": s.last_error,
                }
                for s in state
            ],
        }
        click.echo(json.dumps(document, indent=2, default=str))
        return
    from bridge.admin.alert_delivery import Notice

    click.echo(f"firing now ({len(firing)}):")
    for alert in firing:
        click.echo("  " + stdout_line(Notice("firing", alert, now)))
    click.echo(f"recorded ({len(state)}):")
    for s in state:
        status = f"resolved {s.resolved_at:%Y-%m-%d %H:%M}" if s.resolved_at else "open"
        line = (
            f"  {s.alert.kind} {s.alert.subject} ({s.alert.period_key}): {status}, "
            f"fired {s.fired_at:%Y-%m-%d %H:%M}; "
            f"deliveries sent {s.sent}, pending {s.pending}, failed {s.failed}"
        )
        click.echo(line + (f"; last error: {s.last_error}" if s.last_error else ""))
