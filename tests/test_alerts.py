"""Alerts (docs/alerts.md): each kind fires and resolves at an explicit p_now; `alerts run`
delivers each notice once per subject and period, across runs, restarts and concurrent
runners; webhook failures are retried with backoff and reported; Grafana's provisioned rules
are well-formed and their SQL runs, as the reader role too."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import yaml
from click.testing import CliRunner

from bridge import config
from bridge.admin import alerts
from bridge.admin.alert_delivery import StdoutDestination, WebhookDestination
from bridge.admin.reconcile.client import RetryPolicy
from bridge.cli import main
from seeder.runaway import SESSION_ID, send_runaway
from tests.support.bridge_process import BridgeProcess
from tests.support.paths import ROOT
from tests.support.rollups import call, insert_calls
from tests.support.webhook import WebhookReceiver

# A Wednesday afternoon, UTC.
NOW = datetime(2025, 6, 18, 15, 30, tzinfo=UTC)
ALERTING = ROOT / "deploy/grafana/provisioning/alerting"
NO_RETRY_WAIT = RetryPolicy(attempts=3, backoff=1.0, max_wait=30.0)

_keys = iter(range(10**9))


def _call(ts: datetime, cost: str | None, **overrides: Any) -> dict[str, Any]:
    price = None if cost is None else Decimal(cost)
    return call(f"k{next(_keys)}", ts, total_cost_usd=price, list_cost_usd=price, **overrides)


def _insert(database_url: str, calls: list[dict[str, Any]]) -> None:
    with psycopg.connect(database_url) as conn:
        insert_calls(conn, calls)


def _kind(database_url: str, function: str, now: datetime, *args: Any) -> list[dict[str, Any]]:
    placeholders = ", ".join(["%s"] * (1 + len(args)))
    with psycopg.connect(database_url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(f"SELECT * FROM {function}({placeholders})", (now, *args)).fetchall()


def _subjects(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["subject"], r["period_key"]) for r in rows}


class _Hook:
    """A receiver plus the destination that posts to it, without real sleeping."""

    def __init__(self, receiver: WebhookReceiver, style: str = "json") -> None:
        self.receiver = receiver
        self.waits: list[float] = []
        self.destination = WebhookDestination(
            receiver.url, style, retry=NO_RETRY_WAIT, sleep=self.waits.append, timeout=5.0
        )  # type: ignore[arg-type]


# -- defaults: one number in two languages --------------------------------------------------

SQL_DEFAULTS = {
    "alert_runaway_sessions": {
        "p_multiple": config.ALERT_RUNAWAY_MULTIPLE,
        "p_cap_usd_per_hour": config.ALERT_RUNAWAY_CAP_USD_PER_HOUR,
        "p_min_usd_per_hour": config.ALERT_RUNAWAY_MIN_USD_PER_HOUR,
        "p_window": timedelta(hours=config.ALERT_RUNAWAY_WINDOW_HOURS),
        "p_baseline_days": config.ALERT_RUNAWAY_BASELINE_DAYS,
    },
    "alert_anomalies": {
        "p_factor": config.ALERT_ANOMALY_FACTOR,
        "p_min_usd": config.ALERT_ANOMALY_MIN_USD,
        "p_days": config.ALERT_ANOMALY_DAYS,
    },
    "alert_silent_telemetry": {
        "p_working_days": config.ALERT_SILENT_WORKING_DAYS,
        "p_quiet_working_days": config.ALERT_SILENT_QUIET_WORKING_DAYS,
        "p_lookback_days": config.ALERT_SILENT_LOOKBACK_DAYS,
    },
    "alert_unpriced_models": {
        "p_window": timedelta(days=config.ALERT_UNPRICED_WINDOW_DAYS),
        "p_min_calls": config.ALERT_UNPRICED_MIN_CALLS,
    },
    "alert_reconcile_coverage": {
        "p_min_ratio": config.ALERT_COVERAGE_MIN_RATIO,
        "p_days": config.ALERT_COVERAGE_DAYS,
        "p_min_billed_usd": config.ALERT_COVERAGE_MIN_BILLED_USD,
    },
    "alert_budget_projected": {"p_min_elapsed_ratio": config.ALERT_BUDGET_MIN_ELAPSED_RATIO},
}


def test_sql_defaults_equal_bridge_config(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        for function, expected in SQL_DEFAULTS.items():
            (arguments,) = conn.execute(
                "SELECT pg_get_function_arguments(%s::regproc)", (function,)
            ).fetchone() or ("",)
            found = {}
            for argument in arguments.split(", "):
                match = re.fullmatch(r"(\w+) [\w ]+? DEFAULT (.+)", argument)
                if match:
                    row = conn.execute(f"SELECT {match.group(2)}").fetchone()
                    assert row is not None
                    found[match.group(1)] = row[0]
            assert found == {
                k: Decimal(str(v)) if isinstance(v, float) else v for k, v in expected.items()
            }, function


# -- each kind fires and resolves ------------------------------------------------------------


def test_runaway_session_fires_above_a_multiple_or_the_cap_and_resolves(database_url: str) -> None:
    history = [
        _call(NOW - timedelta(days=d, hours=h), "1.00", user_id="ana@example.com", session_id=f"old-{d}")
        for d in range(1, 6)
        for h in range(3)
    ]
    run = [
        _call(NOW - timedelta(minutes=50 - 5 * i), "3.00", user_id="ana@example.com", session_id="ana-run")
        for i in range(10)
    ]  # $30 in the last hour; ana's typical hour is $1
    calm = [_call(NOW - timedelta(minutes=30), "2.00", user_id="ana@example.com", session_id="ana-calm")]
    new_dev = [
        _call(NOW - timedelta(minutes=40 - i), "4.00", user_id="bob@example.com", session_id="bob-burst")
        for i in range(15)
    ]  # $60/h, no history: only the cap applies
    small = [_call(NOW - timedelta(minutes=10), "8.00", user_id="carl@example.com", session_id="carl-1")]
    _insert(database_url, history + run + calm + new_dev + small)

    rows = _kind(database_url, "alert_runaway_sessions", NOW)
    by_subject = {r["subject"]: r for r in rows}
    assert set(by_subject) == {"ana-run", "bob-burst"}
    assert by_subject["ana-run"]["severity"] == "warning"
    assert by_subject["ana-run"]["value"] == Decimal("30")
    assert by_subject["ana-run"]["threshold"] == Decimal("5")
    assert by_subject["ana-run"]["period_key"] == (NOW - timedelta(minutes=50)).date().isoformat()
    assert by_subject["bob-burst"]["severity"] == "critical"
    assert by_subject["bob-burst"]["threshold"] == config.ALERT_RUNAWAY_CAP_USD_PER_HOUR
    # carl's $8/h is below the $10 minimum; with a $5 cap and a $1 minimum it alerts.
    assert "carl-1" in {r["subject"] for r in _kind(database_url, "alert_runaway_sessions", NOW, 5, 5, 1)}
    # An hour of quiet later, nothing runs away.
    assert _kind(database_url, "alert_runaway_sessions", NOW + timedelta(hours=1)) == []


def test_the_seeded_runaway_session_fires_over_real_otlp(bridge: BridgeProcess, database_url: str) -> None:
    sent = send_runaway(bridge.grpc_url, NOW)
    assert sent.spans_rejected == 0 and sent.model_calls == 90
    (row,) = _kind(database_url, "alert_runaway_sessions", NOW)
    assert (row["subject"], row["severity"]) == (SESSION_ID, "critical")
    assert row["value"] > config.ALERT_RUNAWAY_CAP_USD_PER_HOUR


def test_anomaly_fires_above_twice_the_trailing_average_with_a_minimum(database_url: str) -> None:
    today = NOW.replace(hour=0, minute=0)
    calls = []
    for d in range(1, 15):
        day = today - timedelta(days=d) + timedelta(hours=12)
        calls.append(_call(day, "10.00", user_id="ana@example.com", team="payments"))
        calls.append(_call(day, "1.00", user_id="tiny@example.com", team="tiny-team"))
    calls += [
        _call(today + timedelta(hours=h), "5.00", user_id="ana@example.com", team="payments")
        for h in range(5)
    ]
    calls += [
        _call(today + timedelta(hours=h), "1.00", user_id="tiny@example.com", team="tiny-team")
        for h in range(5)
    ]
    _insert(database_url, calls)

    rows = _kind(database_url, "alert_anomalies", NOW)
    assert _subjects(rows) == {("user:ana@example.com", "2025-06-18"), ("team:payments", "2025-06-18")}
    ana = next(r for r in rows if r["subject"] == "user:ana@example.com")
    assert (ana["value"], ana["threshold"]) == (Decimal("25.00"), Decimal("20"))
    assert ana["details"]["baseline_days"] == 14
    # tiny spent 5x its average, but $5 is below the $20 minimum; lower it and tiny alerts.
    assert "user:tiny@example.com" in {
        r["subject"] for r in _kind(database_url, "alert_anomalies", NOW, 2, 1)
    }
    # Earlier today ana had spent $15: not yet twice $10.
    assert _kind(database_url, "alert_anomalies", today + timedelta(hours=2, minutes=30)) == []
    # The next day has no spend: resolved.
    assert _kind(database_url, "alert_anomalies", NOW + timedelta(days=1)) == []


def test_silent_telemetry_fires_when_a_daily_reporter_misses_a_working_day(database_url: str) -> None:
    # Monday 2025-06-02 .. Friday 2025-06-13: ten working days.
    working = [datetime(2025, 6, 2, 10, tzinfo=UTC) + timedelta(days=d) for d in range(12)]
    working = [d for d in working if d.isoweekday() < 6]
    assert len(working) == 10
    calls = [_call(d, "1.00", user_id="dana@example.com", harness_name="dana-harness") for d in working]
    # eve skipped one of the ten days: no pattern, no alert.
    calls += [_call(d, "1.00", user_id="eve@example.com", harness_name="claude-code") for d in working[1:]]
    _insert(database_url, calls)

    # Monday 16th: the weekend is no silence, and Monday is not over.
    assert _kind(database_url, "alert_silent_telemetry", datetime(2025, 6, 16, 18, tzinfo=UTC)) == []
    tuesday = datetime(2025, 6, 17, 9, tzinfo=UTC)
    rows = _kind(database_url, "alert_silent_telemetry", tuesday)
    assert _subjects(rows) == {
        ("user:dana@example.com", "2025-06-13"),
        ("harness:dana-harness", "2025-06-13"),
    }
    assert {r["value"] for r in rows} == {Decimal(1)}
    # Still quiet on Wednesday: the same alert (same period), two days now.
    later = _kind(database_url, "alert_silent_telemetry", tuesday + timedelta(days=1))
    assert _subjects(later) == _subjects(rows)
    # dana reports again: resolved.
    _insert(
        database_url,
        [
            _call(
                tuesday + timedelta(hours=2), "1.00", user_id="dana@example.com", harness_name="dana-harness"
            )
        ],
    )
    assert _kind(database_url, "alert_silent_telemetry", tuesday + timedelta(hours=3)) == []


def test_unpriced_model_fires_once_and_resolves_when_priced(database_url: str) -> None:
    _insert(
        database_url,
        [_call(NOW - timedelta(days=1), None, model="mystery-1"), _call(NOW - timedelta(days=1), "1.00")],
    )
    rows = _kind(database_url, "alert_unpriced_models", NOW)
    assert _subjects(rows) == {("anthropic/mystery-1", "ever")}
    assert rows[0]["value"] == 1
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE agent_spend_logs SET total_cost_usd = 0.5 WHERE model = 'mystery-1'")
    assert _kind(database_url, "alert_unpriced_models", NOW) == []


def test_reconcile_coverage_fires_below_the_ratio_and_resolves(database_url: str) -> None:
    day = NOW.date() - timedelta(days=2)
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    _insert(database_url, [_call(noon, "50.00", cost_estimation="metered")])
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO billing_lines (provider, report, day, model, cost_usd) VALUES "
            "('anthropic', 'cost', %s, 'claude-sonnet-4-5', 100)",
            (day,),
        )
    rows = _kind(database_url, "alert_reconcile_coverage", NOW)
    assert _subjects(rows) == {("anthropic", day.isoformat())}
    assert rows[0]["value"] == Decimal("0.5")
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE billing_lines SET cost_usd = 52")
    assert _kind(database_url, "alert_reconcile_coverage", NOW) == []


def _budget(
    conn: psycopg.Connection[Any], name: str, amount: str, valid_from: datetime, **extra: Any
) -> None:
    conn.execute("UPDATE budgets SET valid_to = %s WHERE name = %s AND valid_to IS NULL", (valid_from, name))
    conn.execute(
        "INSERT INTO budgets (name, scope_kind, scope, period, amount_usd, valid_from, thresholds, "
        "warn_projected) VALUES (%s, 'team', 'payments', 'month', %s, %s, %s, %s)",
        (name, Decimal(amount), valid_from, extra.get("thresholds", [50, 80, 100]), extra.get("warn", False)),
    )


def test_budget_thresholds_follow_the_amount_in_effect(database_url: str) -> None:
    month = datetime(2025, 6, 1, tzinfo=UTC)
    _insert(
        database_url, [_call(month + timedelta(days=d), "10.00", team="payments") for d in range(6)]
    )  # $60
    with psycopg.connect(database_url) as conn:
        _budget(conn, "payments-monthly", "100", month)
    rows = _kind(database_url, "alert_budget_thresholds", NOW)
    assert _subjects(rows) == {("payments-monthly", "2025-06-01@50%")}
    assert rows[0]["severity"] == "warning" and rows[0]["value"] == Decimal(60)

    # Raised mid-period to $200: $60 is 30 %, the 50 % alert no longer holds.
    with psycopg.connect(database_url) as conn:
        _budget(conn, "payments-monthly", "200", NOW - timedelta(hours=1))
    assert _kind(database_url, "alert_budget_thresholds", NOW) == []
    # Cut to $50: 120 %, every threshold reached, 100 % critical.
    with psycopg.connect(database_url) as conn:
        _budget(conn, "payments-monthly", "50", NOW + timedelta(minutes=1))
    later = _kind(database_url, "alert_budget_thresholds", NOW + timedelta(minutes=2))
    assert {r["period_key"]: r["severity"] for r in later} == {
        "2025-06-01@50%": "warning",
        "2025-06-01@80%": "warning",
        "2025-06-01@100%": "critical",
    }
    # Before the cut, the history still judges by $200.
    assert _kind(database_url, "alert_budget_thresholds", NOW) == []


def test_budget_projected_overrun_waits_for_part_of_the_period(database_url: str) -> None:
    month = datetime(2025, 6, 1, tzinfo=UTC)
    _insert(
        database_url, [_call(month + timedelta(days=d, hours=1), "10.00", team="payments") for d in range(18)]
    )
    with psycopg.connect(database_url) as conn:
        _budget(conn, "payments-monthly", "250", month, thresholds=[100], warn=True)
    rows = _kind(database_url, "alert_budget_projected", NOW)  # $180 by the 18th: ~$310 projected
    assert _subjects(rows) == {("payments-monthly", "2025-06-01")}
    assert rows[0]["threshold"] == Decimal(250)
    # On the 2nd, $20 projects to $300 too, but too little of the month has passed to say.
    assert _kind(database_url, "alert_budget_projected", month + timedelta(days=2)) == []


# -- alerts run: once, resolution, restart, failures, concurrency ----------------------------


def _unpriced(database_url: str, *models: str, at: datetime = NOW) -> None:
    _insert(database_url, [_call(at - timedelta(hours=2), None, model=m) for m in models])


def test_run_delivers_once_per_subject_and_period_and_resolves(database_url: str) -> None:
    _unpriced(database_url, "m-a", "m-b")
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
        _unpriced(database_url, "m-a", at=NOW + timedelta(hours=3))
        fourth = alerts.run_once(database_url, targets, NOW + timedelta(hours=3))
        assert (fourth.fired, fourth.sent) == ([], [])
        assert len(receiver.requests) == 3
    with psycopg.connect(database_url) as conn:
        states = conn.execute(
            "SELECT subject, resolved_at IS NOT NULL FROM alert_state ORDER BY subject"
        ).fetchall()
    assert states == [("anthropic/m-a", True), ("anthropic/m-b", False)]


def test_dry_run_records_and_sends_nothing(database_url: str) -> None:
    _unpriced(database_url, "m-dry")
    with WebhookReceiver() as receiver:
        result = alerts.run_once(database_url, [_Hook(receiver).destination], NOW, dry_run=True)
        assert [a.subject for a in result.fired] == ["anthropic/m-dry"]
        assert receiver.requests == []
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM alert_state").fetchone() == (0,)


def test_webhook_failure_is_retried_with_backoff_reported_and_retried_next_run(database_url: str) -> None:
    _unpriced(database_url, "m-fail")
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
    _unpriced(database_url, "m-crash")
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
    _unpriced(database_url, *(f"m-{i:02}" for i in range(25)))
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
    _unpriced(database_url, "m-slack")
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
    _unpriced(database_url, "m-cli", at=datetime.now(UTC))
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


# -- Grafana provisioning ---------------------------------------------------------------------

KIND_VIEWS = {
    "runaway_session": "alert_runaway_sessions_now",
    "anomaly": "alert_anomalies_now",
    "silent_telemetry": "alert_silent_telemetry_now",
    "unpriced_model": "alert_unpriced_models_now",
    "reconcile_coverage": "alert_reconcile_coverage_now",
    "budget_threshold": "alert_budget_thresholds_now",
    "budget_projected": "alert_budget_projected_now",
}


def _yaml(name: str) -> dict[str, Any]:
    document = yaml.safe_load((ALERTING / name).read_text())
    assert isinstance(document, dict) and document["apiVersion"] == 1
    return document


def test_grafana_rules_follow_the_provisioning_schema_one_per_kind() -> None:
    (group,) = _yaml("agent-spend-alerts.yaml")["groups"]
    assert (
        group["orgId"] == 1
        and group["name"]
        and group["folder"]
        and re.fullmatch(r"\d+[smh]", group["interval"])
    )
    kinds = {}
    for rule in group["rules"]:
        assert {
            "uid",
            "title",
            "condition",
            "data",
            "noDataState",
            "execErrState",
            "for",
            "annotations",
            "labels",
        } <= set(rule)
        assert rule["noDataState"] == "OK" and rule["execErrState"] in ("Error", "Alerting", "OK")
        refs = {d["refId"]: d for d in rule["data"]}
        assert rule["condition"] in refs
        query = refs["A"]
        assert query["datasourceUid"] == "agent-spend-pg"
        assert set(query["relativeTimeRange"]) == {"from", "to"}
        assert query["model"]["format"] == "table" and query["model"]["refId"] == "A"
        condition = refs[rule["condition"]]
        assert condition["datasourceUid"] == "__expr__" and condition["model"]["expression"] == "A"
        kinds[rule["labels"]["alert_kind"]] = query["model"]["rawSql"]
        assert "$" not in str(rule["labels"])  # labels are env-interpolated by provisioning
    assert set(kinds) == set(KIND_VIEWS)
    for kind, sql in kinds.items():
        assert sql.endswith(f"FROM {KIND_VIEWS[kind]}")
    assert len({r["uid"] for r in group["rules"]}) == len(group["rules"])


def test_grafana_contact_point_and_policy_come_from_the_environment() -> None:
    (point,) = _yaml("contact-points.yaml")["contactPoints"]
    types = {r["type"]: r["settings"] for r in point["receivers"]}
    assert set(types) == {"webhook", "slack", "email"}
    needed = set(re.findall(r"\$\{(\w+)\}", (ALERTING / "contact-points.yaml").read_text()))
    assert needed == set(config.ALERT_GRAFANA_DEFAULTS)
    (policy,) = _yaml("notification-policies.yaml")["policies"]
    assert policy["receiver"] == point["name"]
    compose = yaml.safe_load((ROOT / "deploy/docker-compose/compose.yml").read_text())
    environment = compose["services"]["grafana"]["environment"]
    for name, default in config.ALERT_GRAFANA_DEFAULTS.items():
        assert environment[name] == f"${{{name}:-{default}}}"
        assert f"{name}=$${{{name}:-{default}}}" in (ROOT / "Makefile").read_text()
    assert "ALERT_GRAFANA_DEFAULTS" in (ROOT / "bridge/lab/lab.py").read_text()


def _database_now(database_url: str) -> datetime:
    """The database server's clock: what Grafana's rules (views over now()) are evaluated at."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    value: datetime = row[0]
    return value


def test_every_grafana_rule_query_runs_as_the_reader(database_url: str) -> None:
    _unpriced(database_url, "m-grafana", at=_database_now(database_url))
    (group,) = _yaml("agent-spend-alerts.yaml")["groups"]
    with psycopg.connect(database_url) as conn:
        conn.execute("SET ROLE agent_spend_reader")
        for rule in group["rules"]:
            sql = rule["data"][0]["model"]["rawSql"]
            columns_rows = conn.execute(sql)
            names = [c.name for c in columns_rows.description or []]
            assert names == ["kind", "subject", "period_key", "severity", "firing"], rule["uid"]
            rows = columns_rows.fetchall()
            if rule["labels"]["alert_kind"] == "unpriced_model":
                assert ("unpriced_model", "anthropic/m-grafana", "ever", "warning", 1) in rows
