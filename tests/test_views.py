"""The definitions in schema/0004_views.sql, on hand-made rows whose answers are known."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.support.rollups import reference_function

T0 = datetime(2025, 3, 10, tzinfo=UTC)  # a Monday, UTC midnight
COLUMNS = (
    "dedup_key",
    "ts",
    "source",
    "signal",
    "user_id",
    "team",
    "session_id",
    "workspace_repo",
    "model",
    "provider",
    "harness_name",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "input_cost_usd",
    "cache_read_cost_usd",
    "cache_write_cost_usd",
    "total_cost_usd",
    "list_cost_usd",
    "cost_estimation",
    "workspace_is_ci",
    "ingest_ts",
)


def call(ts: datetime, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "dedup_key": f"k{random.random()}",
        "ts": ts,
        "source": "test",
        "signal": "trace",
        "user_id": "ann@x",
        "team": "core",
        "session_id": None,
        "workspace_repo": "r",
        "model": "m1",
        "provider": "p",
        "harness_name": "h",
        "input_tokens": 100,
        "output_tokens": 10,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "input_cost_usd": None,
        "cache_read_cost_usd": None,
        "cache_write_cost_usd": None,
        "total_cost_usd": Decimal("1"),
        "list_cost_usd": Decimal("1"),
        "cost_estimation": "metered",
        "workspace_is_ci": False,
        "ingest_ts": ts,
    }
    row.update(values)
    return row


def insert(conn: psycopg.Connection[Any], rows: list[dict[str, Any]]) -> None:
    with conn.cursor().copy(f"COPY agent_spend_logs ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in COLUMNS])


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def one(conn: psycopg.Connection[Any], query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_spend_between_is_exact_at_every_edge(conn: psycopg.Connection[Any], zone: str) -> None:
    """Whole days + whole hours + raw edges == the raw rows, inclusive at both ends, in any session zone."""
    rng = random.Random(7)
    edges = [T0 + timedelta(days=d, hours=h) for d in range(4) for h in (0, 1, 23)]
    times = sorted(
        {
            *edges,
            *(e - timedelta(microseconds=1) for e in edges),
            *(T0 + timedelta(seconds=rng.uniform(0, 4 * 86400)) for _ in range(300)),
        }
    )
    insert(conn, [call(ts, total_cost_usd=Decimal(i % 7 + 1)) for i, ts in enumerate(times)])
    conn.execute(f"SET TIME ZONE '{zone}'")
    ranges = [(a, b) for a in edges[:6] for b in edges if a <= b]
    ranges += [(a, a) for a in edges]
    for _ in range(150):
        a = T0 + timedelta(seconds=rng.uniform(-3600, 4 * 86400))
        ranges.append((a, a + timedelta(seconds=rng.choice([1, 59, 3600, 5000, 86400, 200000, 400000]))))
    for a, b in ranges:
        got = conn.execute(
            "SELECT coalesce(sum(cost_usd), 0), coalesce(sum(calls), 0) FROM spend_between(%s, %s)", (a, b)
        ).fetchone()
        want = conn.execute(
            "SELECT coalesce(sum(total_cost_usd), 0), count(*) FROM agent_spend_logs "
            "WHERE ts BETWEEN %s AND %s",
            (a, b),
        ).fetchone()
        assert got == want, (a, b)


def test_range_before_the_retention_horizon_starts_at_its_day(conn: psycopg.Connection[Any]) -> None:
    insert(conn, [call(T0 + timedelta(hours=h)) for h in range(48)])
    conn.execute("INSERT INTO retention_state (horizon) VALUES (%s)", (T0 + timedelta(days=1),))
    with conn.transaction():
        conn.execute("SET LOCAL agent_spend.retention = 'on'")
        conn.execute("DELETE FROM agent_spend_logs WHERE ts < %s", (T0 + timedelta(days=1),))
    # The raw rows of day 0 are gone; the range starting at 12:30 on day 0 is answered by its whole day.
    assert (
        one(
            conn,
            "SELECT sum(calls) FROM spend_between(%s, %s)",
            T0 + timedelta(hours=12.5),
            T0 + timedelta(days=3),
        )
        == 48
    )


def explain(conn: psycopg.Connection[Any], query: str) -> str:
    """The plan, with one scan per raw scan: agent_spend_logs is partitioned by day (migration
    0012), so only its default partition's scan (and the lines under it) is kept."""
    lines = [row[0] for row in conn.execute(query).fetchall()]  # type: ignore[arg-type]
    kept: list[str] = []
    depth: int | None = None
    for line in lines:
        indent = len(line) - len(line.lstrip(" ->"))
        if depth is not None and indent > depth:
            continue
        depth = indent if re.search(r"Scan.* on agent_spend_logs_\d{8}\b", line) else None
        if depth is None:
            kept.append(line)
    return "\n".join(kept)


def test_filters_fold_away_for_all(conn: psycopg.Connection[Any]) -> None:
    week = "now() - interval '7 days', now()"
    everything = ", ".join(["ARRAY['__all']"] * 6)
    plan = explain(conn, f"EXPLAIN SELECT * FROM org_totals({week}, {everything})")
    assert "__all" not in plan and "spend_dim_match" not in plan
    narrowed = explain(conn, f"EXPLAIN SELECT * FROM org_totals({week}, ARRAY['__all'], ARRAY['core'])")
    # Inlined into the four scans of the sums (spend_totals, 0005: the raw edges, read by one
    # spend_edge_calls() function scan, the two hourly and the daily) and of the active
    # developers (spend_filtered).
    assert narrowed.count("'{core}'") == 8
    sums_only = explain(
        conn, f"EXPLAIN SELECT cost_usd FROM org_totals({week}, ARRAY['__all'], ARRAY['core'])"
    )
    assert sums_only.count("'{core}'") == 4 and "spend_daily_coarse" in sums_only


def test_developer_and_team_summaries(conn: psycopg.Connection[Any]) -> None:
    insert(
        conn,
        [
            call(T0, user_id="ann@x", model="m1", total_cost_usd=Decimal(3)),
            call(T0, user_id="ann@x", model="m2", total_cost_usd=Decimal(1)),
            call(T0, user_id="bob@x", model="m2", total_cost_usd=Decimal(4), input_tokens=300_000),
            call(T0, user_id="ci@x", workspace_is_ci=True, total_cost_usd=Decimal(2)),
            call(T0, user_id="unknown", team="unknown", total_cost_usd=None, list_cost_usd=None),
        ],
    )
    window = (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    devs = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT user_id, cost_usd, models, top_model, long_context_calls FROM developer_summary(%s, %s)",
            window,
        )
    }
    assert devs["ann@x"] == (4, 2, "m1", 0) and devs["bob@x"] == (4, 1, "m2", 1)
    totals = conn.execute(
        "SELECT cost_usd, active_developers, cost_per_active_developer_usd, calls FROM org_totals(%s, %s)",
        window,
    ).fetchone()
    assert totals == (10, 2, 4, 5)  # CI and 'unknown' are no developers; CI cost stays in the total
    teams = dict(conn.execute("SELECT team, active_developers FROM team_summary(%s, %s)", window).fetchall())
    assert teams == {"core": 2, "unknown": 0}
    gaps = conn.execute("SELECT model, problem FROM pricing_gaps(%s, %s)", window).fetchall()
    assert gaps == [("m1", "calls without cost")]


def test_cache_writes_never_read_back(conn: psycopg.Connection[Any]) -> None:
    s = "s1"
    insert(
        conn,
        [
            call(T0, session_id=s, cache_write_tokens=1000),  # read back
            call(
                T0 + timedelta(minutes=2), session_id=s, cache_read_tokens=1000, cache_write_tokens=500
            ),  # late
            call(T0 + timedelta(minutes=20), session_id=s, cache_write_tokens=700),  # next reads nothing
            call(T0 + timedelta(minutes=21), session_id=s, cache_write_tokens=300),  # last: never read
            call(
                T0 + timedelta(minutes=1), session_id="s2", model="m2", cache_write_tokens=50
            ),  # other model
        ],
    )
    rows = conn.execute(
        "SELECT session_id, model, cache_writes, unread_writes, unread_write_tokens "
        "FROM cache_writes_unread(%s, %s) ORDER BY 1",
        (T0, T0 + timedelta(hours=1)),
    ).fetchall()
    assert rows == [("s1", "m1", 4, 3, 1500), ("s2", "m2", 1, 1, 50)]


def test_cache_busting_sessions(conn: psycopg.Connection[Any]) -> None:
    def turn(minute: int, read: int, fresh: int, session: str = "s1") -> dict[str, Any]:
        return call(
            T0 + timedelta(minutes=minute), session_id=session, cache_read_tokens=read, input_tokens=fresh
        )

    insert(
        conn,
        [
            turn(0, 0, 9000),
            turn(1, 9000, 500),
            turn(2, 9500, 400),
            turn(3, 100, 9900),
            turn(4, 9900, 300),
            turn(0, 900, 100, "small"),
            turn(1, 10, 990, "small"),
        ],
    )
    rows = conn.execute(
        "SELECT session_id, busts, calls, busted_prompt_tokens FROM cache_busting_sessions(%s, %s)",
        (T0, T0 + timedelta(hours=1)),
    ).fetchall()
    assert rows == [("s1", 1, 5, 10000)]  # the small prompt is under the cacheable size


def test_cache_efficiency_prices_saved_dollars_from_bucket_costs(conn: psycopg.Connection[Any]) -> None:
    insert(
        conn,
        [
            call(
                T0,
                input_tokens=100_000,
                cache_read_tokens=90_000,
                input_cost_usd=Decimal("0.3"),
                cache_read_cost_usd=Decimal("0.027"),
                total_cost_usd=Decimal("0.327"),
            )
        ],
    )
    row = conn.execute(
        "SELECT cache_hit_ratio, cache_saved_usd, input_usd_per_mtok, cache_read_usd_per_mtok "
        "FROM model_cache_efficiency(%s, %s)",
        (T0, T0),
    ).fetchone()
    assert row is not None
    # 90k cache-read tokens at $3/M instead of $0.30/M: $0.243 saved.
    assert [round(v, 6) for v in row] == [round(Decimal(90) / 190, 6), Decimal("0.243"), 3, Decimal("0.3")]


def test_sessions_and_dimension_values(conn: psycopg.Connection[Any]) -> None:
    insert(conn, [call(T0 + timedelta(minutes=m), session_id="s1", workspace_repo=None) for m in (0, 30, 90)])
    conn.execute("INSERT INTO teams (team) VALUES ('empty-team')")
    rows = conn.execute(
        "SELECT session_id, turns, duration_s, repository FROM session_summary(%s, %s)",
        (T0 + timedelta(minutes=45), T0 + timedelta(minutes=50)),
    ).fetchall()
    assert rows == [("s1", 3, 5400, "(none)")]  # overlapping the range, whole-session totals
    assert (
        conn.execute(
            "SELECT * FROM session_summary(%s, %s)", (T0 + timedelta(hours=2), T0 + timedelta(hours=3))
        ).fetchall()
        == []
    )
    values = conn.execute(
        "SELECT dimension, value FROM dimension_values(%s, %s) ORDER BY 1, 2",
        (T0 + timedelta(hours=5), T0 + timedelta(hours=6)),
    ).fetchall()
    assert (
        ("team", "empty-team") in values
        and ("repository", "(none)") in values
        and ("user", "ann@x") in values
    )


def test_reader_role_reads_views_not_raw_rows(conn: psycopg.Connection[Any]) -> None:
    insert(conn, [call(T0)])
    conn.execute("SET ROLE agent_spend_reader")
    assert one(conn, "SELECT count(*) FROM spend_calls") == 1
    assert one(conn, "SELECT sum(calls) FROM spend_filtered(%s, %s)", T0, T0) == 1
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM agent_spend_logs")


def test_model_token_prices_sample_each_models_latest_calls(conn: psycopg.Connection[Any]) -> None:
    """The newest 2,000 calls per model, however far back they reach (the day window widens),
    metered standard-tier only; the same rows as the plain view over every partition."""
    busy = [  # 100 older calls at another price, then 2,000 newer ones: only the newer count
        call(T0 - timedelta(hours=20, minutes=i), model="m-busy", input_cost_usd=Decimal("0.002"))
        for i in range(100)
    ] + [
        call(T0 + timedelta(seconds=i), model="m-busy", input_cost_usd=Decimal("0.0003")) for i in range(2000)
    ]
    rare = [  # three calls 3 to 40 days apart: the window widens to all of them
        call(T0 - timedelta(days=days), model="m-rare", input_cost_usd=cost)
        for days, cost in ((40, Decimal("0.004")), (5, Decimal("0.001")), (3, Decimal("0.001")))
    ]
    absent = [
        call(T0, model="m-long", input_tokens=900_000, input_cost_usd=Decimal("3")),
        call(T0, model="m-sub", cost_estimation="subscription", input_cost_usd=Decimal("0.001")),
    ]
    insert(conn, busy + rare + absent)
    live = conn.execute("SELECT * FROM model_token_prices ORDER BY model").fetchall()
    oracle = reference_function(conn, "model_token_prices")
    assert live == conn.execute(f"SELECT * FROM {oracle} ORDER BY model").fetchall()
    assert [(r[0], r[1], r[5]) for r in live] == [
        ("m-busy", Decimal("0.000003"), 2000),
        ("m-rare", Decimal("0.00002"), 3),  # $0.006 over 300 tokens
    ]
