"""Random histories of inserts, replays, late rows, re-pricing, dimension fixes, deletes and retention.

After every step the rollups must equal an independent Python aggregation of the raw rows
plus the rows retention pruned, and `verify` must report nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from bridge.admin.retention import apply_retention
from tests.support.rollups import BASE, assert_rollups_exact, call, insert_calls, raw_rows, reset

KEYS = [f"k{i}" for i in range(20)]  # a small pool, so inserts often replay existing calls
USERS = ["ana", "bo", "unknown"]
TEAMS = ["payments", "unknown"]
MODELS = ["m1", "m2"]
REPOS = [None, "r1", "r2"]
SESSIONS = [None, "s1", "s2", "s3"]
COSTS = st.one_of(st.none(), st.decimals(min_value=0, max_value=5, places=4))
KEY_SETS = st.sets(st.sampled_from(KEYS), min_size=1, max_size=8)

calls = st.builds(
    lambda key, hours, user, team, model, repo, session, error, tokens, costs: call(
        key,
        BASE + timedelta(hours=hours),
        user_id=user,
        team=team,
        model=model,
        workspace_repo=repo,
        session_id=session,
        status="error" if error else "ok",
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cache_read_tokens=tokens[2],
        cache_write_tokens=tokens[3],
        reasoning_tokens=min(tokens[1], 7),
        total_cost_usd=costs[0],
        list_cost_usd=costs[1],
        reported_cost_usd=costs[2],
    ),
    key=st.sampled_from(KEYS),
    # Mostly the last three days; sometimes a late arrival weeks in the past.
    hours=st.one_of(st.integers(-72, 0), st.integers(-24 * 40, -24 * 4)),
    user=st.sampled_from(USERS),
    team=st.sampled_from(TEAMS),
    model=st.sampled_from(MODELS),
    repo=st.sampled_from(REPOS),
    session=st.sampled_from(SESSIONS),
    error=st.booleans(),
    tokens=st.tuples(
        st.integers(0, 150_000), st.integers(0, 100), st.integers(0, 60_000), st.integers(0, 1_000)
    ),  # sometimes > 200k context
    costs=st.tuples(COSTS, COSTS, COSTS),
)
DIMENSION_FIXES = st.one_of(
    st.tuples(st.just("user_id"), st.sampled_from(USERS)),
    st.tuples(st.just("team"), st.sampled_from(TEAMS)),
    st.tuples(st.just("model"), st.sampled_from(MODELS)),
    st.tuples(st.just("workspace_repo"), st.sampled_from(REPOS)),
    st.tuples(st.just("session_id"), st.sampled_from(SESSIONS)),
    st.tuples(st.just("status"), st.sampled_from(["ok", "error"])),
    st.tuples(st.just("cost_estimation"), st.sampled_from(["metered", "subscription"])),
)
operations = st.one_of(
    st.tuples(st.just("insert"), st.lists(calls, min_size=1, max_size=8)),
    st.tuples(st.just("replay"), st.integers(0, 20)),
    st.tuples(st.just("reprice"), KEY_SETS, COSTS, COSTS),
    st.tuples(st.just("fix"), KEY_SETS, DIMENSION_FIXES),
    st.tuples(st.just("move"), KEY_SETS, st.integers(-24 * 10, 24)),
    st.tuples(st.just("delete"), KEY_SETS),
    st.tuples(st.just("retention"), st.integers(1, 30), st.integers(1, 4)),
)


def _apply(
    conn: psycopg.Connection[Any], op: tuple[Any, ...], batches: list[list[dict]], pruned: list[dict]
) -> None:
    kind, *args = op
    if kind == "insert":
        batches.append(args[0])
        insert_calls(conn, args[0])
    elif kind == "replay" and batches:
        insert_calls(conn, batches[args[0] % len(batches)])
    elif kind == "reprice":
        keys, total, listed = args
        conn.execute(
            "UPDATE agent_spend_logs SET total_cost_usd = %s, list_cost_usd = %s, "
            "reported_cost_usd = coalesce(reported_cost_usd, 0) + 1 WHERE dedup_key = ANY(%s)",
            (total, listed, list(keys)),
        )
    elif kind == "fix":
        keys, (column, value) = args
        conn.execute(
            sql.SQL("UPDATE agent_spend_logs SET {} = %s WHERE dedup_key = ANY(%s)").format(
                sql.Identifier(column)
            ),
            (value, list(keys)),
        )
    elif kind == "move":
        keys, hours = args
        conn.execute(
            "UPDATE agent_spend_logs SET ts = ts + %s WHERE dedup_key = ANY(%s)",
            (timedelta(hours=hours), list(keys)),
        )
    elif kind == "delete":
        conn.execute("DELETE FROM agent_spend_logs WHERE dedup_key = ANY(%s)", (list(args[0]),))
    elif kind == "retention":
        days, batch_size = args
        horizon = BASE - timedelta(days=days)
        pruned.extend(raw_rows(conn, "ts < %s", (horizon,)))
        apply_retention(conn, horizon, batch_size=batch_size)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=1, max_size=20))
def test_random_histories_keep_rollups_exact(database_url: str, ops: list[tuple[Any, ...]]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        reset(conn)  # one database for all examples: much faster than one per example
        batches: list[list[dict]] = []
        pruned: list[dict] = []
        for op in ops:
            _apply(conn, op, batches, pruned)
            assert_rollups_exact(conn, pruned)


def test_repricing_many_rows_in_one_statement(database_url: str) -> None:
    """The shape of `agent-spend reprice`: one UPDATE ... over thousands of rows."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for chunk in range(4):
            insert_calls(
                conn,
                [
                    call(f"k{chunk}-{i}", BASE - timedelta(minutes=7 * i), session_id=f"s{i % 50}",
                         total_cost_usd=Decimal(i) / 1000, user_id=USERS[i % 3])
                    for i in range(chunk * 500, chunk * 500 + 500)
                ],
            )  # fmt: skip
        conn.execute(
            "UPDATE agent_spend_logs SET total_cost_usd = total_cost_usd * 1.1, "
            "cost_estimation = 'subscription' WHERE id % 2 = 0"
        )
        assert_rollups_exact(conn)
