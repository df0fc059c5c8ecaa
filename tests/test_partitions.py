"""agent_spend_logs partitioned by UTC day (migration 0012; docs/scale.md "Partitioned history").

Rows land in their day's partition (or the default one) and never fail for a missing
partition; call_keys keeps a call exactly once when its copies straddle a day boundary;
completions find the stored row in its partition; retention drops whole partitions and the
rollups keep their history; the window of partitions is kept ahead by migrate and the writer.
Timestamps are fixed, or read from the database's clock, never from this process's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from bridge.admin.retention import apply_retention
from bridge.mapping.common import MAX_FUTURE_SECONDS
from bridge.metrics import Metrics
from bridge.store.migrate import migrate_schema
from bridge.store.writer import BatchWriter
from tests.support.calls import model_call, row_of, write_together
from tests.support.rollups import assert_rollups_exact, call, insert_calls, raw_rows, stored_rollups

DAY = datetime(2026, 1, 2, tzinfo=UTC)  # a partition boundary: 2026-01-01 | 2026-01-02
LAST = DAY - timedelta(microseconds=1)  # 2026-01-01 23:59:59.999999


def _ensure(conn: psycopg.Connection[Any], first: datetime, last: datetime) -> int:
    row = conn.execute(
        "SELECT spend_partition_ensure(%s::date, %s::date)", (first.date(), last.date())
    ).fetchone()
    assert row is not None
    return int(row[0])


def _where(conn: psycopg.Connection[Any], key: str) -> list[tuple[Any, ...]]:
    """(partition, ts) of every stored row of `key`."""
    return conn.execute(
        "SELECT tableoid::regclass::text, ts FROM agent_spend_logs WHERE dedup_key = %s ORDER BY ts", (key,)
    ).fetchall()


def _keys(conn: psycopg.Connection[Any], key: str) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT ts FROM call_keys WHERE dedup_key = %s", (key,)).fetchall()


def _db_today(conn: psycopg.Connection[Any]) -> datetime:
    row = conn.execute("SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'").fetchone()
    assert row is not None
    today: datetime = row[0]
    return today


def _row(key: str, ts: datetime, **fields: Any) -> tuple[Any, ...]:
    return row_of(model_call(dedup_key=key, ts=ts, **fields))


# -- where rows land --------------------------------------------------------------------------
def test_rows_at_a_boundary_land_in_their_day(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert _ensure(conn, LAST, DAY) == 2
        assert _ensure(conn, LAST, DAY) == 0  # idempotent
    _, results = write_together(database_url, [[_row("a", LAST), _row("b", DAY)]])
    assert [r.written for r in results] == [2]
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert _where(conn, "a") == [("agent_spend_logs_20260101", LAST)]
        assert _where(conn, "b") == [("agent_spend_logs_20260102", DAY)]
        assert_rollups_exact(conn)


def test_a_day_without_a_partition_uses_the_default_until_its_partition_is_created(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(
            conn, [call("d1", DAY + timedelta(hours=1), session_id="s"), call("d2", DAY, session_id="s")]
        )
        ids = conn.execute("SELECT dedup_key, id FROM agent_spend_logs ORDER BY 1").fetchall()
        assert {p for p, _ in _where(conn, "d1") + _where(conn, "d2")} == {"agent_spend_logs_default"}
        before = stored_rollups(conn)
        # Creating the day's partition moves its rows out of the default one, firing nothing.
        assert _ensure(conn, DAY, DAY) == 1
        assert {p for p, _ in _where(conn, "d1") + _where(conn, "d2")} == {"agent_spend_logs_20260102"}
        assert conn.execute("SELECT dedup_key, id FROM agent_spend_logs ORDER BY 1").fetchall() == ids
        assert stored_rollups(conn) == before
        assert_rollups_exact(conn)


def test_accepted_late_and_early_calls_never_fail(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT now()").fetchone()
        assert row is not None
        now: datetime = row[0]
    edge = [
        now + timedelta(seconds=MAX_FUTURE_SECONDS - 1),  # the latest accepted
        now,
        now - timedelta(days=6),
        now - timedelta(days=40),  # before the window: the default partition
        datetime(2020, 1, 1, tzinfo=UTC),  # the earliest accepted
    ]
    _, results = write_together(database_url, [[_row(f"e{i}", ts)] for i, ts in enumerate(edge)])
    assert [r.written for r in results] == [1] * len(edge)
    with psycopg.connect(database_url, autocommit=True) as conn:
        places = [_where(conn, f"e{i}")[0][0] for i in range(len(edge))]
        assert places[:3] == [f"agent_spend_logs_{ts:%Y%m%d}" for ts in edge[:3]]
        assert places[3:] == ["agent_spend_logs_default"] * 2
        assert_rollups_exact(conn)


# -- exactly once across a boundary -----------------------------------------------------------
@pytest.mark.parametrize("order", ["late_first", "early_first"])
@pytest.mark.parametrize("batches", ["one_batch", "two_batches"])
def test_copies_on_either_side_of_a_boundary_are_one_row(database_url: str, order: str, batches: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _ensure(conn, LAST, DAY)
    copies = [_row("k", LAST), _row("k", DAY)]
    if order == "early_first":
        copies.reverse()
    first_ts = LAST if order == "late_first" else DAY
    if batches == "one_batch":
        _, results = write_together(database_url, [[copies[0]], [copies[1]]])
        assert [r.written for r in results] == [1, 0]
    else:
        for i, copy in enumerate(copies):
            _, (result,) = write_together(database_url, [[copy]])
            assert (result.written, result.duplicates) == (1 - i, i)
    # Replays of either copy, alone or together, add nothing.
    _, results = write_together(database_url, [copies, [copies[1]]])
    assert [r.written for r in results] == [0, 0]
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert [ts for _, ts in _where(conn, "k")] == [first_ts]
        assert _keys(conn, "k") == [(first_ts,)]
        assert_rollups_exact(conn)
        # A direct insert of the other copy is refused, as the UNIQUE (dedup_key) was.
        other = LAST if first_ts == DAY else DAY
        with pytest.raises(psycopg.errors.UniqueViolation, match="call_keys_pkey"):
            conn.execute(
                "INSERT INTO agent_spend_logs (dedup_key, ts, source, signal, model)"
                " VALUES ('k', %s, 't', 'trace', 'm')",
                (other,),
            )


@pytest.mark.parametrize("batches", ["one_batch", "two_batches"])
def test_a_costed_copy_across_the_boundary_completes_the_stored_row(database_url: str, batches: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _ensure(conn, LAST, DAY)
    span = _row("c", LAST)
    costed = _row("c", DAY, reported=Decimal("0.0005"), signal="log")
    if batches == "one_batch":
        write_together(database_url, [[span, costed]])
    else:
        write_together(database_url, [[span]])
        write_together(database_url, [[costed]])
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute(
            "SELECT tableoid::regclass::text, ts, reported_cost_usd FROM agent_spend_logs"
            " WHERE dedup_key = 'c'"
        ).fetchall() == [("agent_spend_logs_20260101", LAST, Decimal("0.0005"))]
        assert_rollups_exact(conn)


def test_trace_context_completes_a_row_in_its_partition(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _ensure(conn, LAST, DAY)
        insert_calls(
            conn, [call("t", LAST, user_id="unknown", team="unknown"), call("u", DAY, user_id="unknown")]
        )
        conn.execute(
            "INSERT INTO trace_spans (sender, trace_id, span_id, user_id, session_id, workspace_repo)"
            " VALUES ('', 'tr', 'root', 'bo@example.com', 'sess', 'repo')"
        )
        conn.execute(
            "INSERT INTO trace_waiting (dedup_key, sender, trace_id, parent_span_id)"
            " VALUES ('t', '', 'tr', 'root'), ('u', '', 'tr', 'root')"
        )
        assert conn.execute("SELECT trace_context_complete(ARRAY['tr'])").fetchone() == (2,)
        assert conn.execute(
            "SELECT dedup_key, tableoid::regclass::text, user_id, session_id FROM agent_spend_logs ORDER BY 1"
        ).fetchall() == [
            ("t", "agent_spend_logs_20260101", "bo@example.com", "sess"),
            ("u", "agent_spend_logs_20260102", "bo@example.com", "sess"),
        ]
        assert_rollups_exact(conn)


def test_moving_a_row_to_another_day_moves_its_key_and_its_rollups(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _ensure(conn, LAST, DAY)
        insert_calls(conn, [call("m", LAST, session_id="s", total_cost_usd=Decimal(2)), call("n", LAST)])
        conn.execute("UPDATE agent_spend_logs SET ts = %s WHERE dedup_key = 'm'", (DAY,))
        assert _where(conn, "m") == [("agent_spend_logs_20260102", DAY)]
        assert _keys(conn, "m") == [(DAY,)]
        assert_rollups_exact(conn)
        conn.execute("DELETE FROM agent_spend_logs WHERE dedup_key = 'm'")
        assert _keys(conn, "m") == []  # a deleted call's key is free again, as before
        assert insert_calls(conn, [call("m", LAST)]) == 1
        assert_rollups_exact(conn)


# -- retention --------------------------------------------------------------------------------
def test_retention_drops_whole_partitions_and_keeps_the_rollups(database_url: str) -> None:
    horizon = DAY
    with psycopg.connect(database_url, autocommit=True) as conn:
        _ensure(conn, DAY - timedelta(days=5), DAY + timedelta(days=2))
        calls = [
            call(
                f"r{i}",
                DAY - timedelta(days=5) + i * timedelta(hours=6),
                session_id=f"s{i // 6}",
                total_cost_usd=Decimal(i) / 7,
            )
            for i in range(7 * 4)
        ]
        # Late calls of days without a partition, one of them older than the key grace.
        calls += [
            call("old1", DAY - timedelta(days=6), session_id="s0"),
            call("old2", DAY - timedelta(days=20), session_id="sx"),
        ]
        insert_calls(conn, calls)
        before = stored_rollups(conn)
        pruned = raw_rows(conn, "ts < %s", (horizon,))
        assert len(pruned) == 22
        sessions_before = conn.execute("SELECT * FROM session_rollup ORDER BY session_id").fetchall()

        # Only partitions wholly before the recorded horizon can be retired.
        with pytest.raises(psycopg.errors.RaiseException, match="not before the recorded horizon"):
            conn.execute("SELECT spend_partition_retire('agent_spend_logs_20251230')")

        result = apply_retention(conn, horizon, batch_size=1)
        assert (result.partitions, result.deleted, result.keys_pruned) == (5, 22, 1)
        assert result.batches == 3  # the two default-partition rows, one per batch, then an empty one
        names = [r[0] for r in conn.execute("SELECT partition FROM spend_partitions()").fetchall()]
        assert names[0] == "agent_spend_logs_20260102" and "agent_spend_logs_20251230" not in names
        assert conn.execute("SELECT to_regclass('agent_spend_logs_20251230')").fetchone() == (None,)
        assert conn.execute("SELECT min(ts) FROM agent_spend_logs").fetchone() == (horizon,)
        assert stored_rollups(conn) == before  # nothing subtracted, sessions included
        assert conn.execute("SELECT * FROM session_rollup ORDER BY session_id").fetchall() == sessions_before
        assert_rollups_exact(conn, pruned)
        assert conn.execute("SELECT * FROM spend_rollup_verify()").fetchall() == []
        # session_archive holds exactly the pruned calls, per session.
        archived = dict(conn.execute("SELECT session_id, calls FROM session_archive").fetchall())
        expected: dict[str, int] = {}
        for row in pruned:
            expected[row["session_id"]] = expected.get(row["session_id"], 0) + 1
        assert archived == expected
        # A later change to a session that straddles the horizon still counts its pruned part.
        straddling = pruned[-1]["session_id"]
        conn.execute(
            "DELETE FROM agent_spend_logs WHERE dedup_key = (SELECT min(dedup_key) FROM agent_spend_logs"
            " WHERE session_id = %s)",
            (straddling,),
        )
        assert_rollups_exact(conn, pruned)
        # Keys of pruned calls stay for the grace: a replay of one is still a duplicate.
        assert insert_calls(conn, [c for c in calls if c["dedup_key"] in ("r0", "old1")]) == 0
        # Past the grace it is a new call again (as before 0012): it lands in the history
        # buckets a second time, and the next retention run prunes it.
        assert insert_calls(conn, [c for c in calls if c["dedup_key"] == "old2"]) == 1
        assert_rollups_exact(conn, pruned)


# -- partitions created ahead -----------------------------------------------------------------
def test_the_window_covers_every_accepted_timestamp(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT behind, ahead FROM spend_partition_window()").fetchone()
        assert row is not None
        behind, ahead = row
        # At 23:59:59 the latest accepted call is MAX_FUTURE_SECONDS later; keep a day of margin.
        assert (ahead - 1) * 86400 >= MAX_FUTURE_SECONDS + 86400
        now = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
        created = conn.execute("SELECT spend_partition_maintain(%s)", (now,)).fetchone()
        assert created == (behind + ahead,)
        days = {r[0] for r in conn.execute("SELECT day FROM spend_partitions()").fetchall()}
        wanted = {now.date() + timedelta(days=d) for d in range(-behind, ahead)}
        assert wanted <= days
        assert (now + timedelta(seconds=MAX_FUTURE_SECONDS)).date() in days


def test_migrate_and_the_writer_create_the_partitions_ahead(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        today = _db_today(conn)
        ahead = [today + timedelta(days=d) for d in (1, 2)]
        for day in ahead:
            conn.execute(f"DROP TABLE agent_spend_logs_{day:%Y%m%d}")
    assert migrate_schema(database_url).partitions == 2
    with psycopg.connect(database_url, autocommit=True) as conn:
        for day in ahead:
            conn.execute(f"DROP TABLE agent_spend_logs_{day:%Y%m%d}")
    writer = BatchWriter(database_url, Metrics())
    assert writer._try_connect()  # the writer makes the window ready before its first write
    writer._conn.close()  # type: ignore[union-attr]
    with psycopg.connect(database_url, autocommit=True) as conn:
        days = {r[0] for r in conn.execute("SELECT day FROM spend_partitions()").fetchall()}
        assert {d.date() for d in ahead} <= days
