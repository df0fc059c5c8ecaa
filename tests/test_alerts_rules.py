"""Alert rules (docs/alerts.md, schema/objects/60_alerts/): every SQL function's defaults
equal bridge/config.py's ALERT_* constants, and each kind fires and resolves at an explicit
p_now (runaway session, also over real OTLP; anomaly; silent telemetry; unpriced model;
reconcile coverage; budget thresholds and projected overrun)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from bridge import config
from seeder.runaway import SESSION_ID, send_runaway
from tests.support.alerts import NOW, alert_call, store_calls
from tests.support.bridge_process import BridgeProcess


def _kind(database_url: str, function: str, now: datetime, *args: Any) -> list[dict[str, Any]]:
    placeholders = ", ".join(["%s"] * (1 + len(args)))
    with psycopg.connect(database_url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(f"SELECT * FROM {function}({placeholders})", (now, *args)).fetchall()


def _subjects(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["subject"], r["period_key"]) for r in rows}


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
        alert_call(NOW - timedelta(days=d, hours=h), "1.00", user_id="ana@example.com", session_id=f"old-{d}")
        for d in range(1, 6)
        for h in range(3)
    ]
    run = [
        alert_call(
            NOW - timedelta(minutes=50 - 5 * i), "3.00", user_id="ana@example.com", session_id="ana-run"
        )
        for i in range(10)
    ]  # $30 in the last hour; ana's typical hour is $1
    calm = [alert_call(NOW - timedelta(minutes=30), "2.00", user_id="ana@example.com", session_id="ana-calm")]
    new_dev = [
        alert_call(NOW - timedelta(minutes=40 - i), "4.00", user_id="bob@example.com", session_id="bob-burst")
        for i in range(15)
    ]  # $60/h, no history: only the cap applies
    small = [alert_call(NOW - timedelta(minutes=10), "8.00", user_id="carl@example.com", session_id="carl-1")]
    store_calls(database_url, history + run + calm + new_dev + small)

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
        calls.append(alert_call(day, "10.00", user_id="ana@example.com", team="payments"))
        calls.append(alert_call(day, "1.00", user_id="tiny@example.com", team="tiny-team"))
    calls += [
        alert_call(today + timedelta(hours=h), "5.00", user_id="ana@example.com", team="payments")
        for h in range(5)
    ]
    calls += [
        alert_call(today + timedelta(hours=h), "1.00", user_id="tiny@example.com", team="tiny-team")
        for h in range(5)
    ]
    store_calls(database_url, calls)

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
    calls = [alert_call(d, "1.00", user_id="dana@example.com", harness_name="dana-harness") for d in working]
    # eve skipped one of the ten days: no pattern, no alert.
    calls += [
        alert_call(d, "1.00", user_id="eve@example.com", harness_name="claude-code") for d in working[1:]
    ]
    store_calls(database_url, calls)

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
    store_calls(
        database_url,
        [
            alert_call(
                tuesday + timedelta(hours=2), "1.00", user_id="dana@example.com", harness_name="dana-harness"
            )
        ],
    )
    assert _kind(database_url, "alert_silent_telemetry", tuesday + timedelta(hours=3)) == []


def test_unpriced_model_fires_once_and_resolves_when_priced(database_url: str) -> None:
    store_calls(
        database_url,
        [
            alert_call(NOW - timedelta(days=1), None, model="mystery-1"),
            alert_call(NOW - timedelta(days=1), "1.00"),
        ],
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
    store_calls(database_url, [alert_call(noon, "50.00", cost_estimation="metered")])
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
    store_calls(
        database_url, [alert_call(month + timedelta(days=d), "10.00", team="payments") for d in range(6)]
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
    store_calls(
        database_url,
        [alert_call(month + timedelta(days=d, hours=1), "10.00", team="payments") for d in range(18)],
    )
    with psycopg.connect(database_url) as conn:
        _budget(conn, "payments-monthly", "250", month, thresholds=[100], warn=True)
    rows = _kind(database_url, "alert_budget_projected", NOW)  # $180 by the 18th: ~$310 projected
    assert _subjects(rows) == {("payments-monthly", "2025-06-01")}
    assert rows[0]["threshold"] == Decimal(250)
    # On the 2nd, $20 projects to $300 too, but too little of the month has passed to say.
    assert _kind(database_url, "alert_budget_projected", month + timedelta(days=2)) == []
