"""`agent-spend retention`: raw rows go, rollup history stays, verify and rebuild respect the horizon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from click.testing import CliRunner

from bridge.admin.retention import apply_retention, parse_age
from bridge.cli import main
from tests.support.rollups import assert_rollups_exact, call, insert_calls, raw_rows, stored_rollups


@dataclass(frozen=True)
class Days:
    """The database's current UTC day, and the UTC midnight `--older-than 90d` rounds down to.

    `--older-than` counts back from the database's clock (`horizon_for_age`), so the history
    is laid out from that clock too, never from this process's.
    """

    today: datetime
    horizon: datetime


@pytest.fixture
def days(database_url: str) -> Days:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'").fetchone()
    assert row is not None
    return Days(row[0], row[0] - timedelta(days=90))


def _history(conn: psycopg.Connection, today: datetime) -> None:
    """Calls every 12 hours over 120 days, in sessions that straddle the 90-day horizon."""
    start = today - timedelta(days=120)
    insert_calls(
        conn,
        [
            call(
                f"k{i}",
                start + i * timedelta(hours=12),
                session_id=f"s{(i + 5) // 10}",
                total_cost_usd=Decimal(i) / 3,
            )
            for i in range(240)
        ],
    )


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["retention", *args])
    return result.exit_code, result.stdout, result.stderr


def test_retention_drops_raw_rows_and_keeps_rollup_history(database_url: str, days: Days) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _history(conn, days.today)
        before = stored_rollups(conn)
        pruned = raw_rows(conn, "ts < %s", (days.horizon,))
        assert len(pruned) == 60

    code, out, err = _run("--database-url", database_url, "--older-than", "90d", "--batch-size", "25")
    assert code == 0, out + err
    assert f"deleted 60 raw rows before {days.horizon.isoformat()} in 3 batches" in out
    assert err.splitlines() == ["deleted 25 rows", "deleted 25 rows", "deleted 10 rows"]

    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT min(ts) FROM agent_spend_logs").fetchone() == (days.horizon,)
        assert conn.execute("SELECT horizon FROM retention_state").fetchone() == (days.horizon,)
        assert stored_rollups(conn) == before  # nothing subtracted, sessions included
        assert_rollups_exact(conn, pruned)
        # Later changes to a session that straddles the horizon still count its pruned part.
        conn.execute("DELETE FROM agent_spend_logs WHERE dedup_key = 'k62'")  # session s6: k55..k64
        conn.execute("UPDATE agent_spend_logs SET user_id = 'bo' WHERE dedup_key = 'k63'")
        assert conn.execute(
            "SELECT calls, first_ts FROM session_rollup WHERE session_id = 's6'"
        ).fetchone() == (
            9,
            days.today - timedelta(days=120) + 55 * timedelta(hours=12),
        )
        assert_rollups_exact(conn, pruned)
        # A late call from before the horizon still lands in the history buckets.
        late = call("late", days.today - timedelta(days=100), session_id="s1", total_cost_usd=Decimal(7))
        insert_calls(conn, [late])
        assert_rollups_exact(conn, pruned)

    # A longer age never moves the recorded horizon back; the late row is pruned like the rest.
    code, out, _ = _run("--database-url", database_url, "--older-than", "13w")
    assert code == 0 and "deleted 1 raw rows" in out
    assert f"retention horizon {days.horizon.isoformat()}" in out
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT horizon FROM retention_state").fetchone() == (days.horizon,)
        assert_rollups_exact(conn, [*pruned, late])


def test_ingest_accounting_before_the_horizon_goes_with_the_raw_rows(database_url: str, days: Days) -> None:
    """ingest_stats holds a row per minute, signal and writer shard (migration 0013): without
    pruning it would grow without bound; the minute at the horizon itself is kept."""
    minutes = [
        days.horizon - timedelta(days=2),
        days.horizon - timedelta(minutes=1),
        days.horizon,
        days.today,
    ]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for shard, minute in enumerate(minutes):
            conn.execute(
                "INSERT INTO ingest_stats (bucket, signal, shard, records_received, rows_written)"
                " VALUES (%s, 'trace', %s, 3, 3), (%s, 'log', %s, 1, 1)",
                (minute, shard, minute, shard),
            )
            conn.execute(
                "INSERT INTO ingest_rejections (bucket, signal, reason, count) VALUES (%s, 'trace', 'x', 1)",
                (minute,),
            )
    code, out, err = _run("--database-url", database_url, "--older-than", "90d")
    assert code == 0, out + err
    assert "6 rows of per-minute ingest accounting" in out  # 2 minutes x (2 stats + 1 rejection)
    with psycopg.connect(database_url) as conn:
        kept = conn.execute("SELECT DISTINCT bucket FROM ingest_stats ORDER BY 1").fetchall()
        assert kept == [(days.horizon,), (days.today,)]
        assert conn.execute("SELECT count(*) FROM ingest_rejections").fetchone() == (2,)


def test_dry_run_changes_nothing(database_url: str, days: Days) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _history(conn, days.today)
    code, out, _ = _run("--database-url", database_url, "--older-than", "90d", "--dry-run")
    assert code == 0 and out.startswith("dry run: would delete 60 raw rows")
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "SELECT count(*), (SELECT count(*) FROM retention_state) FROM agent_spend_logs"
        ).fetchone() == (
            240,
            0,
        )


def test_verify_and_rebuild_leave_history_before_the_horizon_alone(database_url: str, days: Days) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _history(conn, days.today)
        apply_retention(conn, days.horizon, batch_size=1000)
    with psycopg.connect(database_url, autocommit=True) as conn:
        history = conn.execute(
            "SELECT * FROM spend_daily WHERE bucket < %s ORDER BY bucket", (days.horizon,)
        ).fetchall()
        assert len(history) == 30
        # Corrupting history is invisible to verify (there is nothing left to compare with)...
        conn.execute("UPDATE spend_hourly SET calls = calls + 1 WHERE bucket < %s", (days.horizon,))
    runner = CliRunner()
    ok = runner.invoke(main, ["rollup", "verify", "--database-url", database_url])
    assert ok.exit_code == 0 and f"since the retention horizon {days.horizon.isoformat()}" in ok.stdout
    # ...while a corrupted bucket after the horizon is caught...
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE spend_daily SET cost_usd = 0 WHERE bucket = %s", (days.horizon,))
    bad = runner.invoke(main, ["rollup", "verify", "--database-url", database_url])
    assert bad.exit_code == 1 and days.horizon.date().isoformat() in bad.stdout
    # ...and a full rebuild recomputes it without touching the history it cannot recompute.
    rebuilt = runner.invoke(
        main, ["rollup", "rebuild", "--database-url", database_url, "--since", "2000-01-01"]
    )
    assert rebuilt.exit_code == 0 and "were kept as they are" in rebuilt.stdout
    assert runner.invoke(main, ["rollup", "verify", "--database-url", database_url]).exit_code == 0
    with psycopg.connect(database_url) as conn:
        assert (
            conn.execute(
                "SELECT * FROM spend_daily WHERE bucket < %s ORDER BY bucket", (days.horizon,)
            ).fetchall()
            == history
        )
        assert conn.execute(
            "SELECT sum(calls) FROM spend_hourly WHERE bucket < %s", (days.horizon,)
        ).fetchone() == (
            120,  # 60 calls, each hourly bucket corrupted by +1 and deliberately kept
        )


def test_retention_flag_cannot_delete_rows_after_the_horizon(database_url: str, days: Days) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _history(conn, days.today)
        with (
            pytest.raises(psycopg.errors.RaiseException, match="not before the recorded horizon"),
            conn.transaction(),
        ):
            conn.execute("SET LOCAL agent_spend.retention = 'on'")  # no horizon recorded at all
            conn.execute("DELETE FROM agent_spend_logs WHERE ts < %s", (days.horizon,))
        apply_retention(conn, days.horizon)
        with pytest.raises(psycopg.errors.RaiseException), conn.transaction():
            conn.execute("SET LOCAL agent_spend.retention = 'on'")
            conn.execute("DELETE FROM agent_spend_logs WHERE ts < %s", (days.today,))
        assert conn.execute("SELECT count(*) FROM agent_spend_logs").fetchone() == (180,)


@pytest.mark.parametrize("text", ["90", "0d", "-3d", "90m", "d", "1.5d"])
def test_bad_ages_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_age(text)
    code, _, err = _run("--database-url", "postgresql://unused", "--older-than", text)
    assert code == 2 and "--older-than" in err


def test_ages() -> None:
    assert parse_age("90d") == timedelta(days=90)
    assert parse_age("12w") == timedelta(days=84)
