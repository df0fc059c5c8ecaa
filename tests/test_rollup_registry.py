"""schema/0007_rollup_registry.sql: the registry of derived rollups and the rewritten panels.

The registry drives the trigger, verify and rebuild, so a wrong key there would corrupt a
rollup silently: its keys must be exactly each table's primary key. The functions 0007
rewrote for speed must return what their earlier definitions (or the raw rows) return.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.support.rollups import (
    ALL,
    BASE,
    DIMENSION_ROLLUPS,
    FILTER_NAMES,
    assert_rollups_exact,
    call,
    insert_calls,
    random_calls,
    random_filters,
    reference_function,
)

ARGS = ", ".join(["%s", "%s"] + ["%s::text[]"] * 6)


def test_registry_keys_are_the_primary_keys_and_cover_every_derived_rollup(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        registry = dict(
            conn.execute("SELECT rollup, keys FROM spend_rollup_registry ORDER BY position").fetchall()
        )
        primary_keys = dict(
            conn.execute(
                """SELECT c.relname, array_agg(a.attname::text ORDER BY k.ordinality)
                   FROM pg_constraint p
                   JOIN pg_class c ON c.oid = p.conrelid
                   CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY k(attnum, ordinality)
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                   WHERE p.contype = 'p' AND c.relname ~ '^spend_(hourly|daily)_'
                   GROUP BY c.relname"""
            ).fetchall()
        )
    assert registry == primary_keys
    # The Python oracle of tests/test_rollups_helpers.py checks the same set.
    assert set(registry) == {*DIMENSION_ROLLUPS, "spend_daily_coarse"}


def test_a_new_registry_row_is_maintained_verified_and_rebuilt(database_url: str) -> None:
    """What the registry is for: a rollup added with CREATE TABLE + INSERT, no function edits."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            """CREATE TABLE spend_daily_model (
                   bucket TIMESTAMPTZ NOT NULL, model TEXT NOT NULL,
                   calls BIGINT NOT NULL DEFAULT 0, error_calls BIGINT NOT NULL DEFAULT 0,
                   unpriced_calls BIGINT NOT NULL DEFAULT 0, long_context_calls BIGINT NOT NULL DEFAULT 0,
                   input_tokens NUMERIC NOT NULL DEFAULT 0, output_tokens NUMERIC NOT NULL DEFAULT 0,
                   cache_read_tokens NUMERIC NOT NULL DEFAULT 0,
                   cache_write_tokens NUMERIC NOT NULL DEFAULT 0,
                   reasoning_tokens NUMERIC NOT NULL DEFAULT 0, cost_usd NUMERIC NOT NULL DEFAULT 0,
                   list_cost_usd NUMERIC NOT NULL DEFAULT 0, reported_cost_usd NUMERIC NOT NULL DEFAULT 0,
                   PRIMARY KEY (bucket, model));
               INSERT INTO spend_rollup_registry
               VALUES ('spend_daily_model', 99, 'day', ARRAY['bucket', 'model'])"""
        )
        insert_calls(conn, random_calls(random.Random(3), 200))
        conn.execute("UPDATE agent_spend_logs SET total_cost_usd = 7 WHERE id % 4 = 0")
        conn.execute("DELETE FROM agent_spend_logs WHERE id % 9 = 0")
        stored = conn.execute(
            "SELECT model, sum(calls), sum(cost_usd) FROM spend_daily_model GROUP BY 1"
        ).fetchall()
        raw = conn.execute(
            "SELECT model, count(*), sum(coalesce(total_cost_usd, 0)) FROM agent_spend_logs GROUP BY 1"
        ).fetchall()
        assert sorted(stored) == sorted(raw)
        assert conn.execute("SELECT count(*) FROM spend_rollup_verify()").fetchone() == (0,)
        conn.execute("UPDATE spend_daily_model SET calls = calls + 1")
        broken = conn.execute("SELECT DISTINCT rollup FROM spend_rollup_verify()").fetchall()
        assert broken == [("spend_daily_model",)]
        rebuilt = conn.execute("SELECT rollup FROM spend_rollup_rebuild()").fetchall()
        assert ("spend_daily_model",) in rebuilt
        assert conn.execute("SELECT count(*) FROM spend_rollup_verify()").fetchone() == (0,)


def test_developer_cost_per_day_equals_the_raw_rows(database_url: str) -> None:
    rng = random.Random(21)
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(conn, random_calls(rng, 600))
        assert_rollups_exact(conn)
        cases = [(BASE - timedelta(days=6), BASE + timedelta(days=3), dict.fromkeys(FILTER_NAMES, ALL))]
        window = (BASE - timedelta(days=6), BASE + timedelta(days=3))
        cases += [(*window, random_filters(rng)) for _ in range(12)]
        cases.append((BASE - timedelta(days=6), BASE + timedelta(days=3), {**dict.fromkeys(FILTER_NAMES, ALL),
                                                                          "harness": ["codex"]}))  # fmt: skip
        for start, end, filters in cases:
            got = conn.execute(  # type: ignore[arg-type]
                f"SELECT bucket, active_developers, developer_cost_usd, cost_per_developer_usd "
                f"FROM developer_cost_per_day({ARGS}) ORDER BY 1",
                (start, end, *(filters[n] for n in FILTER_NAMES)),
            ).fetchall()
            where = " AND ".join(
                f"('__all' = ANY(%s::text[]) OR {'user_id' if n == 'user' else n} = ANY(%s::text[]))"
                for n in FILTER_NAMES
            )
            want = conn.execute(  # type: ignore[arg-type]
                f"""SELECT date_trunc('day', ts, 'UTC') AS day, count(DISTINCT user_id), sum(cost_usd),
                           sum(cost_usd) / count(DISTINCT user_id)
                    FROM spend_calls
                    WHERE is_developer AND date_trunc('day', ts, 'UTC') BETWEEN %s AND %s AND {where}
                    GROUP BY 1 ORDER BY 1""",
                (start, end, *(v for n in FILTER_NAMES for v in (filters[n], filters[n]))),
            ).fetchall()
            if filters == dict.fromkeys(FILTER_NAMES, ALL):
                assert len(got) >= 5
            assert got == want, filters


def _session_calls(rng: random.Random) -> list[dict[str, Any]]:
    """Sessions whose cache shares jump around, including drops of exactly the threshold
    (0.6 -> 0.1: 0.1 <= 0.6 - 0.5 holds in numeric, not in float8) and prompts at the
    minimum size."""
    calls = []
    for s in range(40):
        at = BASE + timedelta(minutes=rng.uniform(0, 600))
        model = rng.choice(["m1", "m2"])
        for turn in range(rng.randint(1, 14)):
            at += timedelta(seconds=rng.choice([5, 60, 200, 400, 900]))
            prompt = rng.choice([4095, 4096, 10_000, 50_000])
            share = rng.choice(
                [Decimal(0), Decimal("0.1"), Decimal("0.5"), Decimal("0.6"), Decimal("0.95"), Decimal(1)]
            )
            read = int(prompt * share)
            write = rng.choice([0, 0, prompt - read])
            calls.append(
                call(
                    f"s{s}-{turn}", at, session_id=f"sess-{s:02d}",
                    model=model if turn % 5 else rng.choice(["m1", "m2"]),
                    user_id=rng.choice(["ana", "bo"]), team=rng.choice(["t1", "t2"]),
                    workspace_repo=rng.choice([None, "r1"]), cache_read_tokens=read, cache_write_tokens=write,
                    input_tokens=prompt - read - write, output_tokens=rng.randint(1, 900),
                    total_cost_usd=Decimal(rng.randint(1, 999)) / 1000,
                )
            )  # fmt: skip
    return calls


@pytest.mark.parametrize("function", ["cache_busting_sessions", "cache_writes_unread"])
def test_cache_sequence_panels_equal_their_0004_definition(database_url: str, function: str) -> None:
    rng = random.Random(31)
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(conn, _session_calls(rng))
        reference = reference_function(conn, function)
        cases = [(BASE, BASE + timedelta(hours=12), dict.fromkeys(FILTER_NAMES, ALL))]
        for _ in range(15):
            start = BASE + timedelta(minutes=rng.uniform(0, 600))
            cases.append((start, start + timedelta(minutes=rng.uniform(5, 300)), random_filters(rng)))
        for start, end, filters in cases:
            params = (start, end, *(filters[n] for n in FILTER_NAMES))
            got = conn.execute(f"SELECT * FROM {function}({ARGS})", params).fetchall()  # type: ignore[arg-type]
            want = conn.execute(f"SELECT * FROM {reference}({ARGS})", params).fetchall()  # type: ignore[arg-type]
            if filters == dict.fromkeys(FILTER_NAMES, ALL):
                assert len(got) >= 5, function
            assert sorted(got, key=repr) == sorted(want, key=repr), (function, start, end, filters)


def test_arrival_delay_stats_are_the_percentiles_of_ingest_minus_call_time(database_url: str) -> None:
    rng = random.Random(41)
    delays = [rng.choice([0.25, 3.0, 42.5, 299.999999, 300.000001, 4000.0, 90_000.0]) for _ in range(200)]
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(conn, [call(f"a{i}", BASE - timedelta(seconds=d)) for i, d in enumerate(delays)])
        conn.execute("UPDATE agent_spend_logs SET ingest_ts = %s", (BASE,))
        got = conn.execute(
            "SELECT rows, p50_s, p95_s, p99_s, max_s, late_rows FROM arrival_delay_stats(%s, %s)",
            (BASE - timedelta(hours=1), BASE + timedelta(hours=1)),
        ).fetchone()
    assert got is not None
    ordered = sorted(delays)

    def percentile(q: float) -> float:  # percentile_cont: linear interpolation
        position = q * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    assert got[0] == 200
    for value, q in zip(got[1:4], (0.5, 0.95, 0.99), strict=True):
        assert value == pytest.approx(percentile(q), abs=1e-6)
    assert got[4] == pytest.approx(90_000.0, abs=1e-6)
    assert got[5] == sum(d > 300 for d in delays)  # 300.000001 s is late, 299.999999 s is not
