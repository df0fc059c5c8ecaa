"""spend_daily_coarse and spend_totals (schema/0005_coarse_rollups.sql) against spend_daily and raw rows.

The coarse path must give exactly what the fine path and the raw table give, with and
without filters, and the planner must pick it only when the user and repository filters
are on All.
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
    FILTER_NAMES,
    assert_rollups_exact,
    explain_plan,
    insert_calls,
    random_calls,
    random_filters,
    raw_rows,
)
from tests.support.schema import build_legacy

GROUP = "team, model, provider, harness, environment, cost_estimation, is_ci"
MEASURES = (
    "sum(calls), sum(error_calls), sum(unpriced_calls), sum(long_context_calls), sum(input_tokens), "
    "sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(reasoning_tokens), "
    "sum(prompt_tokens), sum(total_tokens), sum(cost_usd), sum(list_cost_usd), sum(reported_cost_usd)"
)
RAW_MEASURES = (
    "count(*), count(*) FILTER (WHERE status = 'error'), count(*) FILTER (WHERE is_unpriced), "
    "count(*) FILTER (WHERE is_long_context), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), "
    "sum(cache_write_tokens), sum(reasoning_tokens), sum(prompt_tokens), sum(total_tokens), sum(cost_usd), "
    "sum(coalesce(list_cost_usd, 0)), sum(coalesce(reported_cost_usd, 0))"
)
RAW_COLUMNS = {"user": "user_id"}


@pytest.fixture
def seeded(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rng = random.Random(5)
        for batch in range(4):
            insert_calls(conn, random_calls(rng, 300, f"b{batch}-"))
        yield conn


def _grouped(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...]) -> dict[tuple, tuple]:
    return {row[:7]: row[7:] for row in conn.execute(query, params).fetchall()}  # type: ignore[arg-type]


def test_coarse_fine_and_raw_agree_with_and_without_filters(seeded: psycopg.Connection[Any]) -> None:
    conn = seeded
    assert_rollups_exact(conn)
    rng = random.Random(11)
    cases = [(BASE - timedelta(days=5), BASE + timedelta(days=2), dict.fromkeys(FILTER_NAMES, ALL))]
    for _ in range(40):
        start = BASE + timedelta(seconds=rng.uniform(-6 * 86400, 86400))
        cases.append((start, start + timedelta(seconds=rng.uniform(0, 5 * 86400)), random_filters(rng)))
    for start, end, filters in cases:
        args = (start, end, *(filters[n] for n in FILTER_NAMES))
        placeholders = "%s, %s, " + ", ".join(["%s::text[]"] * 6)
        coarse = _grouped(
            conn, f"SELECT {GROUP}, {MEASURES} FROM spend_totals({placeholders}) GROUP BY {GROUP}", args
        )
        fine = _grouped(
            conn, f"SELECT {GROUP}, {MEASURES} FROM spend_filtered({placeholders}) GROUP BY {GROUP}", args
        )
        where = " AND ".join(
            f"('__all' = ANY(%s::text[]) OR {RAW_COLUMNS.get(n, n)} = ANY(%s::text[]))" for n in FILTER_NAMES
        )
        raw = _grouped(
            conn,
            f"SELECT {GROUP}, {RAW_MEASURES} FROM spend_calls WHERE ts BETWEEN %s AND %s AND {where} "
            f"GROUP BY {GROUP}",
            (start, end, *(v for n in FILTER_NAMES for v in (filters[n], filters[n]))),
        )
        # Rollup rows of keys whose calls cancelled out leave no group behind; raw has none either.
        assert coarse == fine == raw, (start, end, filters)


@pytest.mark.parametrize(
    ("user", "repository", "table"),
    [
        ("'__all'", "'__all'", "spend_daily_coarse"),
        ("'ana'", "'__all'", "spend_daily "),
        ("'__all'", "'r1'", "spend_daily "),
    ],
)
def test_coarse_table_only_when_user_and_repository_are_all(
    database_url: str, user: str, repository: str, table: str
) -> None:
    other = "spend_daily " if table == "spend_daily_coarse" else "spend_daily_coarse"
    with psycopg.connect(database_url) as conn:
        plan = explain_plan(
            conn,
            "SELECT sum(cost_usd) FROM spend_totals(now() - interval '30 days', now(), ARRAY['__all'], "
            f"ARRAY['__all'], ARRAY[{user}], ARRAY['__all'], ARRAY['__all'], ARRAY[{repository}])",
        )
        assert f"on {table}" in plan + " " and f"on {other}" not in plan + " "
        # A panel reading only sums never plans the distinct-developer part.
        stat = explain_plan(conn, "SELECT cost_usd FROM org_totals(now() - interval '30 days', now())")
        assert "spend_daily_coarse" in stat and "on spend_daily " not in stat + " "
        teams = explain_plan(
            conn, "SELECT team, cost_usd FROM team_summary(now() - interval '30 days', now())"
        )
        assert "on spend_daily " not in teams + " "


def _reference(function: str) -> str:
    """0004's definitions of the replaced summaries, over spend_filtered only."""
    return {
        "org_totals": """
            SELECT coalesce(sum(s.cost_usd), 0), coalesce(sum(s.list_cost_usd), 0),
                   coalesce(sum(s.reported_cost_usd), 0), coalesce(sum(s.calls), 0),
                   coalesce(sum(s.error_calls), 0),
                   count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0),
                   sum(s.cost_usd) FILTER (WHERE s.is_developer)
                       / nullif(count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0), 0),
                   coalesce(sum(s.total_tokens), 0), coalesce(sum(s.input_tokens), 0),
                   coalesce(sum(s.output_tokens), 0), coalesce(sum(s.cache_read_tokens), 0),
                   coalesce(sum(s.cache_write_tokens), 0),
                   sum(s.cache_read_tokens) / nullif(sum(s.prompt_tokens), 0)
            FROM spend_filtered(%s) s""",
        "team_summary": """
            SELECT s.team, sum(s.cost_usd), sum(s.list_cost_usd), sum(s.calls),
                   count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0),
                   sum(s.cost_usd) FILTER (WHERE s.is_developer)
                       / nullif(count(DISTINCT s.user_id) FILTER (WHERE s.is_developer AND s.calls > 0), 0),
                   sum(s.total_tokens), sum(s.cache_read_tokens) / nullif(sum(s.prompt_tokens), 0),
                   sum(s.cost_usd) / nullif(sum(sum(s.cost_usd)) OVER (), 0)
            FROM spend_filtered(%s) s GROUP BY s.team""",
        "spend_by_cost_estimation": """
            SELECT s.cost_estimation, sum(s.calls), sum(s.cost_usd), sum(s.list_cost_usd),
                   sum(s.reported_cost_usd), sum(s.total_tokens),
                   sum(s.list_cost_usd) / nullif(sum(sum(s.list_cost_usd)) OVER (), 0)
            FROM spend_filtered(%s) s GROUP BY s.cost_estimation""",
        "pricing_gaps": """
            SELECT * FROM (
                SELECT s.model, min(s.provider), sum(s.calls), sum(s.unpriced_calls), sum(s.total_tokens),
                       sum(s.cost_usd), sum(s.list_cost_usd),
                       CASE WHEN s.model = 'unknown' THEN 'model not reported'
                            WHEN sum(s.unpriced_calls) > 0 THEN 'calls without cost'
                            WHEN sum(s.list_cost_usd) = 0 AND sum(s.total_tokens) > 0 THEN 'no list price'
                       END AS p
                FROM spend_filtered(%s) s GROUP BY s.model) m
            WHERE m.p IS NOT NULL""",
        "model_cache_efficiency": """
            SELECT s.model, min(s.provider), sum(s.calls), sum(s.input_tokens), sum(s.output_tokens),
                   sum(s.cache_read_tokens), sum(s.cache_write_tokens), sum(s.total_tokens), sum(s.cost_usd),
                   sum(s.list_cost_usd), 1000 * sum(s.cost_usd) / nullif(sum(s.output_tokens), 0),
                   1000 * sum(s.list_cost_usd) / nullif(sum(s.output_tokens), 0),
                   sum(s.cache_read_tokens) / nullif(sum(s.prompt_tokens), 0)
            FROM spend_filtered(%s) s GROUP BY s.model""",
    }[function]


@pytest.mark.parametrize(
    "function",
    ["org_totals", "team_summary", "spend_by_cost_estimation", "pricing_gaps", "model_cache_efficiency"],
)
def test_summaries_on_the_coarse_path_equal_their_fine_definition(
    seeded: psycopg.Connection[Any], function: str
) -> None:
    conn = seeded
    rng = random.Random(3)
    for i in range(12):
        start = BASE + timedelta(seconds=rng.uniform(-6 * 86400, 86400))
        end = start + timedelta(seconds=rng.uniform(0, 5 * 86400))
        filters = dict.fromkeys(FILTER_NAMES, ALL) if i < 3 else random_filters(rng)
        args = ", ".join(["%s", "%s"] + ["%s::text[]"] * 6)
        params = (start, end, *(filters[n] for n in FILTER_NAMES))
        columns = (
            "model, provider, calls, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
        )
        columns += (
            "total_tokens, cost_usd, list_cost_usd, cost_per_1k_output_usd, list_cost_per_1k_output_usd, "
        )
        columns += "cache_hit_ratio"
        select = columns if function == "model_cache_efficiency" else "*"
        got = conn.execute(f"SELECT {select} FROM {function}({args})", params).fetchall()  # type: ignore[arg-type]
        want = conn.execute(_reference(function).replace("%s", args), params).fetchall()  # type: ignore[arg-type]
        assert sorted(got, key=repr) == sorted(want, key=repr), (function, start, end, filters)


def test_triggers_retention_and_rebuild_keep_the_coarse_rollup_exact(database_url: str) -> None:
    rng = random.Random(9)
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(conn, random_calls(rng, 400))
        conn.execute("UPDATE agent_spend_logs SET user_id = 'bo', total_cost_usd = 1 WHERE id % 5 = 0")
        conn.execute(
            "UPDATE agent_spend_logs SET team = 'search', ts = ts - interval '1 day' WHERE id % 7 = 0"
        )
        conn.execute("DELETE FROM agent_spend_logs WHERE id % 11 = 0")
        assert_rollups_exact(conn)
        horizon = BASE - timedelta(days=3)
        pruned = raw_rows(conn, "ts < %s", (horizon,))
        apply_retention(conn, horizon, batch_size=50)
        assert_rollups_exact(conn, pruned)
        # History before the horizon stays; the coarse rollup still sums to the fine one there.
        assert (
            conn.execute(
                "SELECT (SELECT sum(cost_usd) FROM spend_daily WHERE bucket < %(h)s), "
                "(SELECT sum(cost_usd) FROM spend_daily_coarse WHERE bucket < %(h)s)",
                {"h": horizon},
            ).fetchone()
            == conn.execute(
                "SELECT sum(coalesce(total_cost_usd, 0)), sum(coalesce(total_cost_usd, 0)) "
                "FROM unnest(%s::numeric[]) AS u (total_cost_usd)",
                ([r["total_cost_usd"] for r in pruned],),
            ).fetchone()
        )
        conn.execute("UPDATE spend_daily_coarse SET calls = calls + 1 WHERE bucket >= %s", (horizon,))
    runner = CliRunner()
    bad = runner.invoke(main, ["rollup", "verify", "--database-url", database_url])
    assert bad.exit_code == 1 and "spend_daily_coarse {bucket=" in bad.output
    rebuilt = runner.invoke(main, ["rollup", "rebuild", "--database-url", database_url])
    assert rebuilt.exit_code == 0 and "spend_daily_coarse: removed" in rebuilt.output
    with psycopg.connect(database_url) as conn:
        assert_rollups_exact(conn, pruned)


def test_migration_backfills_the_coarse_rollup_including_history(empty_database_url: str) -> None:
    horizon = BASE - timedelta(days=2)
    rng = random.Random(4)
    build_legacy(empty_database_url, before="0005_coarse_rollups")  # the release before, with triggers
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        insert_calls(conn, random_calls(rng, 300))
        pruned = raw_rows(conn, "ts < %s", (horizon,))
        assert pruned
        apply_retention(conn, horizon, batch_size=100)
    assert CliRunner().invoke(main, ["migrate", "--database-url", empty_database_url]).exit_code == 0
    with psycopg.connect(empty_database_url) as conn:
        assert_rollups_exact(conn, pruned)
