"""Rollups maintained by the statement-level triggers of schema/0003_rollups.sql."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from decimal import Decimal

import psycopg
from click.testing import CliRunner

from bridge.cli import main
from tests.support.bridge_process import BridgeProcess
from tests.support.db import rows
from tests.support.otlp import NOW_NS, json_span, json_traces, post
from tests.support.rollups import BASE, assert_rollups_exact, call, insert_calls, stored_rollups
from tests.support.schema import build_legacy

H = timedelta(hours=1)


def test_formulas_match_hand_computed_values(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(
            conn,
            [
                call(
                    "a",
                    BASE + 10 * H,
                    input_tokens=100,
                    output_tokens=40,
                    reasoning_tokens=5,
                    total_cost_usd=Decimal("1.5"),
                    list_cost_usd=Decimal("2"),
                    session_id="s1",
                ),
                # 200000 exactly is not long context; one more token is.
                call(
                    "b",
                    BASE + 10 * H + timedelta(minutes=30),
                    input_tokens=100_000,
                    cache_read_tokens=99_000,
                    cache_write_tokens=1_000,
                    status="error",
                    session_id="s1",
                    workspace_repo="github.com/a/b",
                ),
                call(
                    "c",
                    BASE + 10 * H + timedelta(minutes=59),
                    input_tokens=1,
                    cache_read_tokens=200_000,
                    total_cost_usd=Decimal("0.25"),
                    reported_cost_usd=Decimal("0.3"),
                    user_id="unknown",
                    session_id="s1",
                ),
                call("d", BASE + 11 * H, input_tokens=7, total_cost_usd=Decimal("0.1")),
            ],
        )
        hourly = stored_rollups(conn)["spend_hourly"]
        dims = ("payments", "claude-sonnet-4-5", "anthropic", "claude-code", "", "", "prod", "metered", False)
        assert hourly[(BASE + 10 * H, "ana@example.com", *dims)] == (
            1, 0, 0, 0, 100, 40, 0, 0, 5, Decimal("1.5"), Decimal("2"), 0,
        )  # fmt: skip
        assert hourly[(BASE + 10 * H, "unknown", *dims)] == (
            1, 0, 0, 1, 1, 0, 200_000, 0, 0, Decimal("0.25"), 0, Decimal("0.3"),
        )  # fmt: skip
        repo_dims = (*dims[:4], "github.com/a/b", *dims[5:])
        assert hourly[(BASE + 10 * H, "ana@example.com", *repo_dims)] == (
            1, 1, 1, 0, 100_000, 0, 99_000, 1_000, 0, 0, 0, 0,
        )  # fmt: skip
        daily = stored_rollups(conn)["spend_daily"]
        assert daily[(BASE, "ana@example.com", *dims)][:1] == (2,)  # a and d: same day, same key
        (session,) = conn.execute(
            "SELECT user_id, workspace_repo, first_ts, last_ts, calls, error_calls, unpriced_calls, cost_usd "
            "FROM session_rollup"
        ).fetchall()
        assert session == (
            "ana@example.com", "github.com/a/b", BASE + 10 * H, BASE + 10 * H + timedelta(minutes=59),
            3, 1, 1, Decimal("1.75"),
        )  # fmt: skip
        assert_rollups_exact(conn)


def test_replays_updates_and_deletes_keep_rollups_exact(database_url: str) -> None:
    calls = [
        call(
            f"k{i}",
            BASE + i * H / 3,
            input_tokens=10 * i,
            total_cost_usd=Decimal(i) / 7,
            session_id=f"s{i % 2}",
        )
        for i in range(12)
    ]
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert insert_calls(conn, calls) == 12
        assert insert_calls(conn, calls[:6]) == 0  # a replay adds nothing
        assert_rollups_exact(conn)
        # Re-pricing: costs change, including to unpriced.
        conn.execute("UPDATE agent_spend_logs SET total_cost_usd = total_cost_usd * 2 WHERE id % 3 = 0")
        conn.execute("UPDATE agent_spend_logs SET total_cost_usd = NULL WHERE dedup_key = 'k5'")
        assert_rollups_exact(conn)
        # Dimension fixes move calls between keys; the emptied key row must disappear.
        conn.execute(
            "UPDATE agent_spend_logs SET user_id = 'bo@example.com', workspace_repo = 'r' WHERE ts < %s",
            (BASE + H,),
        )
        conn.execute(
            "UPDATE agent_spend_logs SET ts = ts - interval '3 days', session_id = 's9' "
            "WHERE dedup_key = 'k7'"
        )
        # An update that touches no rollup input changes nothing.
        conn.execute("UPDATE agent_spend_logs SET attributes = '{\"x\": 1}'")
        assert_rollups_exact(conn)
        assert not conn.execute("SELECT 1 FROM spend_hourly WHERE calls = 0").fetchall()
        conn.execute("DELETE FROM agent_spend_logs WHERE dedup_key IN ('k0', 'k11')")
        assert_rollups_exact(conn)
        conn.execute("DELETE FROM agent_spend_logs")
        assert_rollups_exact(conn)
        assert conn.execute(
            "SELECT (SELECT count(*) FROM spend_hourly) + (SELECT count(*) FROM spend_daily)"
            " + (SELECT count(*) FROM session_rollup)"
        ).fetchone() == (0,)


def test_session_bounds_shrink_when_its_first_call_is_deleted(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(
            conn,
            [
                call(f"k{i}", BASE + i * H, session_id="s", user_id="unknown" if i else "ana")
                for i in range(3)
            ],
        )
        assert conn.execute("SELECT user_id, first_ts FROM session_rollup").fetchone() == ("ana", BASE)
        conn.execute("DELETE FROM agent_spend_logs WHERE dedup_key = 'k0'")
        assert conn.execute("SELECT user_id, first_ts, calls FROM session_rollup").fetchone() == (
            "unknown", BASE + H, 2,
        )  # fmt: skip
        assert_rollups_exact(conn)


def test_spans_through_the_real_writer_path(bridge: BridgeProcess, database_url: str) -> None:
    spans = [
        json_span(
            f"{i:032x}",
            f"{i + 1:016x}",
            "chat gpt-5",
            {
                "gen_ai.request.model": "gpt-5" if i % 2 else "claude-sonnet-4-5",
                "gen_ai.usage.input_tokens": 1000 * i,
                "gen_ai.usage.output_tokens": 10 * i,
                "agent.session.id": f"sess-{i % 3}",
                "agent.workspace.repo": "github.com/acme/api" if i % 4 else "",
                "agent.cost.total.usd": 0.001 * i,
            },
            start_ns=NOW_NS - i * 1_800_000_000_000,  # every 30 minutes: several hours
        )
        for i in range(1, 25)
    ]
    resource = {"service.name": "pi", "agent.user.id": "ana@example.com"}
    assert post(f"{bridge.http_url}/v1/traces", json_traces(resource, spans[:15]))[0] == 200
    assert (
        post(f"{bridge.http_url}/v1/traces", json_traces(resource, spans[10:]))[0] == 200
    )  # overlap: replays
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(24,)]
    assert rows(database_url, "SELECT sum(calls) FROM spend_hourly") == [(24,)]
    assert rows(database_url, "SELECT sum(calls) FROM session_rollup") == [(24,)]
    with psycopg.connect(database_url) as conn:
        assert_rollups_exact(conn)


def test_concurrent_writers_on_the_same_keys_neither_deadlock_nor_lose_updates(database_url: str) -> None:
    errors: list[BaseException] = []
    users = ["ana", "bo", "cy", "di"]

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            with psycopg.connect(database_url, autocommit=True) as conn:
                for batch in range(15):
                    calls = [
                        call(
                            f"w{n}-{batch}-{i}",
                            BASE + rng.randrange(6) * H,
                            user_id=rng.choice(users),
                            session_id=f"s{rng.randrange(4)}",
                            total_cost_usd=Decimal(rng.randrange(100)) / 100,
                        )
                        for i in range(40)
                    ]
                    rng.shuffle(calls)
                    insert_calls(conn, calls)
                    if n == 0 and batch % 3 == 2:  # a concurrent re-pricing takes the recompute path
                        conn.execute(
                            "UPDATE agent_spend_logs SET total_cost_usd = total_cost_usd + 1 "
                            "WHERE dedup_key LIKE %s",
                            (f"w0-{batch}-%",),
                        )
                    if n == 1 and batch % 4 == 3:
                        conn.execute(
                            "DELETE FROM agent_spend_logs WHERE dedup_key LIKE %s", (f"w1-{batch - 1}-%",)
                        )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM agent_spend_logs").fetchone() == (4 * 15 * 40 - 3 * 40,)
        assert_rollups_exact(conn)


def _corrupt(database_url: str, statement: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute(statement).rowcount > 0


def test_verify_cli_exits_nonzero_listing_differences(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(
            conn, [call(f"k{i}", BASE + i * H, session_id="s", total_cost_usd=Decimal(1)) for i in range(30)]
        )
    runner = CliRunner()
    ok = runner.invoke(main, ["rollup", "verify", "--database-url", database_url])
    assert ok.exit_code == 0, ok.output
    assert "rollups match the raw rows (all buckets)" in ok.output
    _corrupt(database_url, "UPDATE spend_hourly SET cost_usd = cost_usd + 0.0000000001")
    _corrupt(database_url, "DELETE FROM spend_daily WHERE bucket = (SELECT min(bucket) FROM spend_daily)")
    _corrupt(database_url, "UPDATE session_rollup SET last_ts = last_ts + interval '1 second'")
    bad = runner.invoke(main, ["rollup", "verify", "--database-url", database_url, "--limit", "3"])
    assert bad.exit_code == 1
    lines = bad.stdout.splitlines()
    assert len(lines) == 3
    assert "spend_hourly {bucket=" in lines[0] and "cost_usd rollup=1.0000000001 raw=1.0000000000" in lines[0]
    assert "32 rollup rows differ" in bad.stderr and "29 not shown" in bad.stderr
    everything = runner.invoke(main, ["rollup", "verify", "--database-url", database_url, "--limit", "100"])
    assert any(
        "spend_daily" in line and "missing from the rollup" in line for line in everything.stdout.splitlines()
    )
    assert any("session_rollup {session_id='s'}: last_ts" in line for line in everything.stdout.splitlines())


def test_rebuild_since_restores_recent_buckets_and_keeps_older_ones(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(conn, [call(f"k{i}", BASE + i * 6 * H, session_id=f"s{i // 4}") for i in range(20)])
    since = (BASE + timedelta(days=3)).date().isoformat()
    _corrupt(database_url, f"UPDATE spend_hourly SET calls = calls + 5 WHERE bucket >= '{since}'")
    _corrupt(database_url, f"DELETE FROM spend_daily WHERE bucket >= '{since}'")
    _corrupt(
        database_url,
        "INSERT INTO spend_hourly (bucket, user_id, team, model, provider, harness_name, "
        "workspace_repo, workspace_branch, environment, cost_estimation, workspace_is_ci, calls) "
        f"VALUES ('{since}'::timestamptz + interval '1 day', 'ghost', '', '', '', '', '', '', '', "
        "'', false, 1)",
    )
    _corrupt(database_url, "UPDATE session_rollup SET calls = 0 WHERE session_id = 's4'")  # last session
    _corrupt(
        database_url,
        "UPDATE spend_hourly SET calls = calls + 1 WHERE bucket = (SELECT min(bucket) FROM spend_hourly)",
    )
    runner = CliRunner()
    result = runner.invoke(main, ["rollup", "rebuild", "--database-url", database_url, "--since", since])
    assert result.exit_code == 0, result.output
    assert "spend_daily: removed 0 rows, wrote 2" in result.output
    still = runner.invoke(main, ["rollup", "verify", "--database-url", database_url])
    assert still.exit_code == 1  # the corruption before --since is left alone...
    assert len(still.stdout.splitlines()) == 1 and str(BASE.date()) in still.stdout
    assert runner.invoke(main, ["rollup", "rebuild", "--database-url", database_url]).exit_code == 0
    with psycopg.connect(database_url) as conn:  # ...until a full rebuild
        assert_rollups_exact(conn)


def test_migration_backfills_rows_stored_before_the_rollups_existed(empty_database_url: str) -> None:
    build_legacy(empty_database_url, before="0003_rollups")  # raw rows only, no rollups yet
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        insert_calls(conn, [call(f"k{i}", BASE + i * H, session_id="s") for i in range(5)])
    runner = CliRunner()
    assert runner.invoke(main, ["migrate", "--database-url", empty_database_url]).exit_code == 0
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT sum(calls) FROM spend_hourly").fetchone() == (5,)
        assert_rollups_exact(conn)
