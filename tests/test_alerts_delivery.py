"""Alert delivery (`alerts run`, docs/alerts.md): each notice is delivered once per subject
and period, across runs, restarts and concurrent runners, and resolved once; dry runs send
nothing; webhook failures are retried with backoff and reported; Slack payloads are text only;
and the `agent-spend alerts run|test|list` commands."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner

from bridge import config
from bridge.admin import alerts
from bridge.admin.alert_delivery import StdoutDestination, WebhookDestination
from bridge.admin.reconcile.client import RetryPolicy
from bridge.cli import main
from tests.support.alerts import NOW, store_unpriced
from tests.support.webhook import WebhookReceiver

NO_RETRY_WAIT = RetryPolicy(attempts=3, backoff=1.0, max_wait=30.0)


class _Hook:
    """A receiver plus the destination that posts to it, without real sleeping."""

    def __init__(self, receiver: WebhookReceiver, style: str = "json") -> None:
        self.receiver = receiver
        self.waits: list[float] = []
        self.destination = WebhookDestination(
            receiver.url, style, retry=NO_RETRY_WAIT, sleep=self.waits.append, timeout=5.0
        )  # type: ignore[arg-type]


# -- alerts run: once, resolution, restart, failures, concurrency ----------------------------


def test_run_delivers_once_per_subject_and_period_and_resolves(database_url: str) -> None:
    store_unpriced(database_url, "m-a", "m-b")
    printed: list[str] = []
    with WebhookReceiver() as receiver:
        hook = _Hook(receiver)
        targets = [StdoutDestination(printed.append), hook.destination]
        first = alerts.run_once(database_url, targets, NOW)
        assert first.ok and len(first.fired) == 2 and len(first.sent) == 4
        assert sorted(receiver.ids()) == [
            "unpriced_model/anthropic/m-a/ever/firing",
            "unpriced_model/anthropic/m-b/ever/firing",
        ]
        assert receiver.headers[0]["idempotency-key"] == receiver.requests[0]["id"]
        assert all(line.startswith("FIRING") for line in printed) and len(printed) == 2

        # A second run (another "process": a new connection, state from the database) sends nothing.
        second = alerts.run_once(database_url, [StdoutDestination(printed.append), hook.destination], NOW)
        assert (second.fired, second.sent, len(second.firing)) == ([], [], 2)
        assert len(receiver.requests) == 2 and len(printed) == 2

        # m-a gets a price: one resolution notice, to every destination that had the firing.
        with psycopg.connect(database_url) as conn:
            conn.execute("UPDATE agent_spend_logs SET total_cost_usd = 1 WHERE model = 'm-a'")
        third = alerts.run_once(database_url, targets, NOW + timedelta(minutes=5))
        assert [a.subject for a in third.resolved] == ["anthropic/m-a"]
        assert receiver.ids()[-1] == "unpriced_model/anthropic/m-a/ever/resolved"
        assert receiver.requests[-1]["resolved_at"] == (NOW + timedelta(minutes=5)).isoformat()
        assert printed[-1].startswith("RESOLVED")
        # Unpriced again later: the same key, already resolved, never fires twice.
        store_unpriced(database_url, "m-a", at=NOW + timedelta(hours=3))
        fourth = alerts.run_once(database_url, targets, NOW + timedelta(hours=3))
        assert (fourth.fired, fourth.sent) == ([], [])
        assert len(receiver.requests) == 3
    with psycopg.connect(database_url) as conn:
        states = conn.execute(
            "SELECT subject, resolved_at IS NOT NULL FROM alert_state ORDER BY subject"
        ).fetchall()
    assert states == [("anthropic/m-a", True), ("anthropic/m-b", False)]


def test_dry_run_records_and_sends_nothing(database_url: str) -> None:
    store_unpriced(database_url, "m-dry")
    with WebhookReceiver() as receiver:
        result = alerts.run_once(database_url, [_Hook(receiver).destination], NOW, dry_run=True)
        assert [a.subject for a in result.fired] == ["anthropic/m-dry"]
        assert receiver.requests == []
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM alert_state").fetchone() == (0,)


def test_webhook_failure_is_retried_with_backoff_reported_and_retried_next_run(database_url: str) -> None:
    store_unpriced(database_url, "m-fail")
    script = [(500, {}), (429, {"Retry-After": "7"}), (503, {})]
    with WebhookReceiver(script) as receiver:
        hook = _Hook(receiver)
        first = alerts.run_once(database_url, [hook.destination], NOW)
        assert not first.ok and len(first.failed) == 1
        assert "HTTP 503" in (first.failed[0].error or "") and receiver.url not in (
            first.failed[0].error or ""
        )
        assert hook.waits == [1.0, 7.0]  # exponential backoff, then what Retry-After asked
        assert receiver.answers == [500, 429, 503]
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT status, attempts, rounds, next_attempt_at, last_error FROM alert_deliveries"
            ).fetchone()
        assert row is not None and row[:3] == ("pending", 3, 1)
        assert row[3] == NOW + timedelta(seconds=config.ALERT_ROUND_BACKOFF_SECONDS)
        assert "HTTP 503" in row[4]

        # A run before the backoff has passed does not try again; the one after delivers.
        early = alerts.run_once(database_url, [hook.destination], NOW + timedelta(seconds=30))
        assert early.ok and early.sent == [] and len(receiver.answers) == 3
        late = alerts.run_once(database_url, [hook.destination], NOW + timedelta(seconds=61))
        assert late.ok and len(late.sent) == 1
        assert receiver.ids() == ["unpriced_model/anthropic/m-fail/ever/firing"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT status, attempts, last_error FROM alert_deliveries").fetchone() == (
            "sent",
            4,
            None,
        )


def test_a_crashed_senders_claim_is_sent_again_after_its_lease(database_url: str) -> None:
    store_unpriced(database_url, "m-crash")
    with WebhookReceiver() as receiver:
        hook = _Hook(receiver)
        # Evaluate and queue only, then claim as a runner that dies before sending.
        with psycopg.connect(database_url) as conn:
            alerts.diff(conn, NOW, [hook.destination])
        with psycopg.connect(database_url, autocommit=True) as conn:
            assert alerts._claim(conn, NOW, [hook.destination.id], "dead-runner") is not None
        assert alerts.run_once(database_url, [hook.destination], NOW + timedelta(seconds=10)).sent == []
        after = NOW + alerts.LEASE + timedelta(seconds=1)
        assert len(alerts.run_once(database_url, [hook.destination], after).sent) == 1
        assert receiver.ids() == ["unpriced_model/anthropic/m-crash/ever/firing"]


def test_two_concurrent_runners_deliver_each_notice_exactly_once(database_url: str) -> None:
    store_unpriced(database_url, *(f"m-{i:02}" for i in range(25)))
    with WebhookReceiver() as receiver:
        start = threading.Barrier(4)
        results: list[alerts.RunResult] = []
        errors: list[BaseException] = []

        def runner() -> None:
            try:
                destination = WebhookDestination(receiver.url, "json", timeout=5.0)
                start.wait(timeout=30)
                results.append(alerts.run_once(database_url, [destination], NOW))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=runner) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        ids = receiver.ids()
        assert len(ids) == 25 and len(set(ids)) == 25
        assert sum(len(r.sent) for r in results) == 25
        assert sum(len(r.fired) for r in results) == 25


def test_slack_payload_is_text_only(database_url: str) -> None:
    store_unpriced(database_url, "m-slack")
    with WebhookReceiver() as receiver:
        result = alerts.run_once(database_url, [_Hook(receiver, "slack").destination], NOW)
        assert result.ok
        (body,) = receiver.requests
    assert set(body) == {"text"}
    assert "unpriced_model" in body["text"] and "`anthropic/m-slack`" in body["text"]


def test_alerts_test_command_sends_a_sample_to_each_destination() -> None:
    with WebhookReceiver() as plain, WebhookReceiver() as slack:
        out = CliRunner().invoke(
            main, ["alerts", "test", "--webhook", plain.url, "--slack-webhook", slack.url]
        )
        assert out.exit_code == 0, out.output
        assert plain.requests[0]["event"] == "test" and plain.requests[0]["kind"] == "test"
        assert set(slack.requests[0]) == {"text"}
    with WebhookReceiver([(404, {})]) as broken:
        out = CliRunner().invoke(main, ["alerts", "test", "--webhook", broken.url])
        assert out.exit_code == 1 and "HTTP 404" in out.output and broken.url not in out.output


@pytest.mark.e2e
def test_cli_run_once_twice_delivers_exactly_once(database_url: str) -> None:
    """The issue's "done": two `alerts run --once` processes, each alert delivered once."""
    # Evaluated at the clock's now: unpriced calls an hour ago.
    store_unpriced(database_url, "m-cli", at=datetime.now(UTC))
    command = [sys.executable, "-m", "bridge", "alerts", "run", "--once", "--database-url", database_url]
    with WebhookReceiver() as receiver:
        for _ in range(2):
            done = subprocess.run(
                [*command, "--webhook", receiver.url], capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
        assert receiver.ids() == ["unpriced_model/anthropic/m-cli/ever/firing"]
    listed = subprocess.run(
        [sys.executable, "-m", "bridge", "alerts", "list", "--json", "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert '"anthropic/m-cli"' in listed.stdout and '"sent": 2' in listed.stdout  # webhook + stdout
