"""The dimension rollups (schema/migrations/0006_dimension_rollups.sql) against raw rows and the fine path.

spend_daily_user, spend_daily_repo and spend_hourly_coarse must equal a fresh aggregation
of the raw rows through inserts, re-pricing, deletes, retention and rebuilds (the oracle
of tests/test_rollups_helpers.py covers them); every function routed to them must return
exactly what 0004's definition over spend_filtered (tests/reference/) returns, with and without filters; and
the planner must read them only when the filters allow.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from bridge.admin.retention import apply_retention
from bridge.cli import main
from tests.support.rollups import (
    ALL,
    BASE,
    DIMENSION_ROLLUPS,
    FILTER_NAMES,
    assert_rollups_exact,
    explain_plan,
    insert_calls,
    random_calls,
    random_filters,
    raw_rows,
    reference_function,
)
from tests.support.schema import build_legacy

ROUTED = ("org_totals", "team_summary", "developer_summary", "long_context_requests", "repository_summary")
ARGS = ", ".join(["%s", "%s"] + ["%s::text[]"] * 6)


@pytest.fixture
def seeded(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rng = random.Random(6)
        for batch in range(4):
            insert_calls(conn, random_calls(rng, 300, f"d{batch}-"))
        # A re-pricing, a dimension fix and deletes, so rows cancel out in places.
        conn.execute("UPDATE agent_spend_logs SET total_cost_usd = 2 WHERE id % 9 = 0")
        conn.execute("UPDATE agent_spend_logs SET workspace_repo = 'r2', user_id = 'cy' WHERE id % 13 = 0")
        conn.execute("DELETE FROM agent_spend_logs WHERE id % 17 = 0")
        yield conn


def _cases(seed: int, n: int) -> list[tuple[Any, Any, dict[str, list[str]]]]:
    rng = random.Random(seed)
    cases = [(BASE - timedelta(days=5), BASE + timedelta(days=2), dict.fromkeys(FILTER_NAMES, ALL))]
    for i in range(n):
        start = BASE + timedelta(seconds=rng.uniform(-6 * 86400, 86400))
        end = start + timedelta(seconds=rng.uniform(0, 5 * 86400))
        cases.append((start, end, dict.fromkeys(FILTER_NAMES, ALL) if i < 4 else random_filters(rng)))
    # Each single filter on its own, so every routing guard is crossed in both directions.
    for name, value in zip(
        FILTER_NAMES, (["prod"], ["search"], ["ana"], ["m2"], ["codex"], ["r1"]), strict=True
    ):
        cases.append(
            (
                BASE - timedelta(days=4, hours=3),
                BASE + timedelta(hours=5),
                {**dict.fromkeys(FILTER_NAMES, ALL), name: value},
            )
        )
    return cases


@pytest.mark.parametrize("function", ROUTED)
def test_routed_summaries_equal_their_fine_definition(seeded: psycopg.Connection[Any], function: str) -> None:
    conn = seeded
    assert_rollups_exact(conn)
    reference = reference_function(conn, function)
    for start, end, filters in _cases(7, 24):
        params = (start, end, *(filters[n] for n in FILTER_NAMES))
        got = conn.execute(f"SELECT * FROM {function}({ARGS})", params).fetchall()  # type: ignore[arg-type]
        want = conn.execute(f"SELECT * FROM {reference}({ARGS})", params).fetchall()  # type: ignore[arg-type]
        if all(v == ALL for v in filters.values()):
            assert got, (function, start, end)
        assert sorted(got, key=repr) == sorted(want, key=repr), (function, start, end, filters)


def _view_where(alias: str) -> str:
    columns = {"user": "user_id"}
    return " AND ".join(
        f"('__all' = ANY(%s::text[]) OR {alias}.{columns.get(n, n)} = ANY(%s::text[]))" for n in FILTER_NAMES
    )


def test_daily_and_hourly_series_equal_the_fine_views(seeded: psycopg.Connection[Any]) -> None:
    conn = seeded
    series = {
        "spend_user_days": (
            "spend_by_day",
            "bucket, user_id, team, model, is_developer",
        ),
        "spend_hour_totals": ("spend_by_hour", "bucket, team, environment"),
    }
    for start, end, filters in _cases(8, 24):
        params = (start, end, *(filters[n] for n in FILTER_NAMES))
        view_params = (start, end, *(v for n in FILTER_NAMES for v in (filters[n], filters[n])))
        for function, (view, group) in series.items():
            measures = "sum(calls), sum(cost_usd), sum(total_tokens)"
            got = conn.execute(  # type: ignore[arg-type]
                f"SELECT {group}, {measures} FROM {function}({ARGS}) GROUP BY {group}", params
            ).fetchall()
            want = conn.execute(  # type: ignore[arg-type]
                f"SELECT {group}, {measures} FROM {view} v "
                f"WHERE v.bucket BETWEEN %s AND %s AND {_view_where('v')} GROUP BY {group}",
                view_params,
            ).fetchall()
            assert sorted(got, key=repr) == sorted(want, key=repr), (function, start, end, filters)


def _call(function: str, **selected: str) -> str:
    values = ", ".join(f"ARRAY['{selected.get(n, '__all')}']" for n in FILTER_NAMES)
    return f"SELECT * FROM {function}(now() - interval '30 days', now(), {values})"


@pytest.mark.parametrize(
    ("function", "table", "filters"),
    [
        # spend_daily_user honours environment, team, user and model; not harness or repository.
        ("developer_summary", "spend_daily_user", {}),
        (
            "developer_summary",
            "spend_daily_user",
            {"environment": "prod", "team": "x", "user": "ana", "model": "m"},
        ),
        ("developer_summary", "spend_daily ", {"harness": "codex"}),
        ("developer_summary", "spend_daily ", {"repository": "r1"}),
        ("long_context_requests", "spend_daily_user", {"user": "ana"}),
        ("long_context_requests", "spend_daily ", {"repository": "r1"}),
        ("team_summary", "spend_daily_user", {"team": "x"}),
        ("team_summary", "spend_daily ", {"harness": "codex"}),
        ("org_totals", "spend_daily_user", {"model": "m"}),
        ("org_totals", "spend_daily ", {"repository": "r1"}),
        ("spend_user_days", "spend_daily_user", {"user": "ana"}),
        ("spend_user_days", "spend_daily ", {"harness": "codex"}),
        # spend_daily_repo honours environment, team, user and repository; not model or harness.
        ("repository_summary", "spend_daily_repo", {}),
        (
            "repository_summary",
            "spend_daily_repo",
            {"environment": "prod", "team": "x", "user": "a", "repository": "r"},
        ),
        ("repository_summary", "spend_daily ", {"model": "m"}),
        ("repository_summary", "spend_daily ", {"harness": "codex"}),
        # spend_hourly_team (0007) honours environment and team, spend_hourly_coarse model and
        # harness as well; neither honours user or repository.
        ("spend_hour_totals", "spend_hourly_team", {}),
        ("spend_hour_totals", "spend_hourly_team", {"environment": "prod", "team": "x"}),
        ("spend_hour_totals", "spend_hourly_coarse", {"model": "m"}),
        (
            "spend_hour_totals",
            "spend_hourly_coarse",
            {"environment": "prod", "team": "x", "model": "m", "harness": "h"},
        ),
        ("spend_hour_totals", "spend_hourly ", {"user": "ana"}),
        ("spend_hour_totals", "spend_hourly ", {"repository": "r1"}),
    ],
)
def test_dimension_rollups_only_when_the_filters_allow(
    database_url: str, function: str, table: str, filters: dict[str, str]
) -> None:
    with psycopg.connect(database_url) as conn:
        plan = explain_plan(conn, _call(function, **filters)) + " "
    assert f"on {table}" in plan, plan
    # The daily rollups replace spend_daily for whole days (edges stay hourly and raw);
    # spend_hourly_coarse / spend_hourly_team replace spend_hourly.
    others = {
        "spend_daily_user",
        "spend_daily_repo",
        "spend_hourly_coarse",
        "spend_hourly_team",
        "spend_daily ",
    } - {table}
    if table in ("spend_hourly_coarse", "spend_hourly_team"):
        others.add("spend_hourly ")
    for other in others:
        assert f"on {other}" not in plan, (other, plan)


def test_triggers_retention_and_rebuild_keep_the_dimension_rollups_exact(database_url: str) -> None:
    rng = random.Random(10)
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(conn, random_calls(rng, 400))
        conn.execute("UPDATE agent_spend_logs SET user_id = 'bo', total_cost_usd = 1 WHERE id % 5 = 0")
        conn.execute(
            "UPDATE agent_spend_logs SET workspace_branch = 'x', ts = ts - interval '1 hour' WHERE id % 7 = 0"
        )
        conn.execute("DELETE FROM agent_spend_logs WHERE id % 11 = 0")
        assert_rollups_exact(conn)
        horizon = BASE - timedelta(days=3)
        pruned = raw_rows(conn, "ts < %s", (horizon,))
        assert pruned
        apply_retention(conn, horizon, batch_size=50)
        assert_rollups_exact(conn, pruned)  # history before the horizon kept, nothing subtracted
        for table in DIMENSION_ROLLUPS:
            conn.execute(f"UPDATE {table} SET calls = calls + 1 WHERE bucket >= %s", (horizon,))  # type: ignore[arg-type]
    runner = CliRunner()
    bad = runner.invoke(main, ["rollup", "verify", "--database-url", database_url, "--limit", "100000"])
    assert bad.exit_code == 1
    for table in DIMENSION_ROLLUPS:
        assert f"{table} {{bucket=" in bad.output
    rebuilt = runner.invoke(main, ["rollup", "rebuild", "--database-url", database_url])
    assert rebuilt.exit_code == 0
    for table in DIMENSION_ROLLUPS:
        assert f"{table}: removed" in rebuilt.output
    with psycopg.connect(database_url) as conn:
        assert_rollups_exact(conn, pruned)


@pytest.mark.parametrize("version", ["0006_dimension_rollups", "0007_rollup_registry"])
def test_migration_backfills_the_dimension_rollups_including_history(
    empty_database_url: str, version: str
) -> None:
    horizon = BASE - timedelta(days=2)
    rng = random.Random(12)
    build_legacy(empty_database_url, before=version)  # the release before `version`, its triggers included
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        insert_calls(conn, random_calls(rng, 300))
        pruned = raw_rows(conn, "ts < %s", (horizon,))
        assert pruned
        apply_retention(conn, horizon, batch_size=100)
    assert CliRunner().invoke(main, ["migrate", "--database-url", empty_database_url]).exit_code == 0
    with psycopg.connect(empty_database_url) as conn:
        assert_rollups_exact(conn, pruned)
