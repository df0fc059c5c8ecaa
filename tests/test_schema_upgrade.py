"""Upgrading a database built by the pre-split schema files, and re-running migrate().

A database migrated by schema/0001_core.sql ... 0007 (tests/fixtures/legacy_schema_0001_0007.tar.gz)
must upgrade in place: no migration re-applied, its recorded checksums replaced by the
split files', every stored figure unchanged, the rollups verified clean, and the catalog
identical to a database built from the current layout. migrate() on a current database is
a no-op; an edited object file is reported by the readiness check until migrate runs.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

import bridge.store.migrate as migrate_module
from bridge.server import readiness_check
from bridge.store.migrate import LEGACY_CHECKSUMS, available, migrate_schema, object_files, outdated_objects
from tests.support.db import with_database
from tests.support.rollups import BASE, assert_rollups_exact, call, insert_calls, random_calls, raw_rows
from tests.support.schema import build_legacy, catalog, catalog_differences, legacy_files

# Panel functions over a range, with all filters at "All" (their last six arguments).
RANGE_FUNCTIONS = (
    "org_totals",
    "team_summary",
    "developer_summary",
    "repository_summary",
    "spend_by_cost_estimation",
    "model_cache_efficiency",
    "long_context_requests",
    "pricing_gaps",
    "session_summary",
    "spend_totals",
    "dimension_values",
)


def _figures(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored rollup row, row counts, and what the summaries return over a range."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " AND c.relname NOT LIKE 'schema\\_%' ORDER BY 1"
        )
    ]
    for table in tables:
        # 0010_budgets moves teams.monthly_budget_usd into budgets: compare the other columns.
        # psycopg refuses to load budgets.valid_from '-infinity' as a datetime: compare its text.
        columns = {
            "teams": sql.SQL("team, display_name, created_at"),
            "budgets": sql.SQL("budget_id, name, valid_from::text, valid_to::text"),
        }.get(table, sql.SQL("*"))
        rows = conn.execute(sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier(table))).fetchall()
        out[table] = sorted(rows, key=repr)
    start, end = BASE - timedelta(days=6), BASE + timedelta(days=2)
    for function in RANGE_FUNCTIONS:
        query = sql.SQL("SELECT * FROM {}(%s, %s)").format(sql.Identifier(function))
        out[function] = sorted(conn.execute(query, (start, end)).fetchall(), key=repr)
    out["month_to_date"] = conn.execute("SELECT * FROM month_to_date()").fetchall()
    return out


def test_the_fixture_holds_the_files_whose_checksums_are_accepted() -> None:
    files = legacy_files()
    assert [v for v, _ in files] == [m.version for m in available()][: len(LEGACY_CHECKSUMS)]
    assert {v: hashlib.sha256(text).hexdigest() for v, text in files} == LEGACY_CHECKSUMS


@pytest.fixture
def fresh_url(server_url: str) -> Iterator[str]:
    """A second empty database, migrated by the current layout (not a template copy: those
    lose the database-level grants)."""
    name = f"fresh_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = with_database(server_url, name)
        migrate_schema(url)
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _legacy_retention(conn: psycopg.Connection[Any], horizon: datetime) -> None:
    """What `agent-spend retention` did before 0012: record the horizon, delete with the flag."""
    conn.execute("INSERT INTO retention_state (horizon) VALUES (%s)", (horizon,))
    with conn.transaction():
        conn.execute("SET LOCAL agent_spend.retention = 'on'")
        conn.execute("DELETE FROM agent_spend_logs WHERE ts < %s", (horizon,))


def test_a_database_of_the_pre_split_files_upgrades_in_place(empty_database_url: str, fresh_url: str) -> None:
    assert build_legacy(empty_database_url) == list(LEGACY_CHECKSUMS)
    rng = random.Random(80)
    horizon = BASE - timedelta(days=3)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO teams (team, display_name, monthly_budget_usd) VALUES "
            "('search', 'Search', 100), ('infra', 'Infra', 0.01), ('none', 'None', NULL), ('zero', 'Zero', 0)"
        )
        for batch in range(3):
            insert_calls(conn, random_calls(rng, 250, f"u{batch}-"))
        conn.execute("UPDATE agent_spend_logs SET total_cost_usd = 3 WHERE id % 7 = 0")
        conn.execute("DELETE FROM agent_spend_logs WHERE id % 11 = 0")
        pruned = raw_rows(conn, "ts < %s", (horizon,))
        assert pruned
        _legacy_retention(conn, horizon)
        before = _figures(conn)
        ids = conn.execute("SELECT max(id) FROM agent_spend_logs").fetchone()

    result = migrate_schema(empty_database_url)

    # Migrations written after the split run once, as on any database that lacks them.
    assert result.migrations == [m.version for m in available() if m.version not in LEGACY_CHECKSUMS]
    assert result.backfills == []
    assert result.objects == len(object_files())
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        recorded = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
        assert recorded == {m.version: m.checksum for m in available()}
        after = _figures(conn)
        assert {name: after[name] for name in before} == before  # tables added later start empty
        assert all(after[name] == [] for name in after.keys() - before.keys() - {"budgets", "call_keys"})
        # 0012 partitioned the calls by day: every row kept its id and is in its day's
        # partition, call_keys holds each key at its row's ts, and new ids continue after.
        assert after["call_keys"] == sorted(
            conn.execute("SELECT dedup_key, ts FROM agent_spend_logs").fetchall(), key=repr
        )
        assert conn.execute("SELECT count(*) FROM agent_spend_logs_default").fetchone() == (0,)
        assert conn.execute(
            "SELECT count(DISTINCT tableoid) = count(DISTINCT date_trunc('day', ts AT TIME ZONE 'UTC'))"
            " FROM agent_spend_logs"
        ).fetchone() == (True,)
        assert ids is not None
        insert_calls(conn, [call("after-0012", BASE)])
        new_id = conn.execute("SELECT id FROM agent_spend_logs WHERE dedup_key = 'after-0012'").fetchone()
        assert new_id is not None and new_id[0] > ids[0]
        conn.execute("DELETE FROM agent_spend_logs WHERE dedup_key = 'after-0012'")
        # Each team's monthly_budget_usd became a team/month budget judging every month (0 is none).
        budgets = conn.execute(
            "SELECT name, scope_kind, scope, period, amount_usd, thresholds, warn_projected,"
            " valid_from::text,"
            " valid_to"
            " FROM budgets ORDER BY name"
        ).fetchall()
        assert budgets == [
            (
                "team:infra:month",
                "team",
                "infra",
                "month",
                Decimal("0.01"),
                [50, 80, 100],
                True,
                "-infinity",
                None,
            ),
            (
                "team:search:month",
                "team",
                "search",
                "month",
                Decimal("100.00"),
                [50, 80, 100],
                True,
                "-infinity",
                None,
            ),
        ]
        assert conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'teams'"
            " AND column_name = 'monthly_budget_usd'"
        ).fetchone() == (0,)
        judged = conn.execute(
            "SELECT scope, amount_usd, period_start FROM budget_periods(%s, %s) ORDER BY 1, 3",
            (BASE - timedelta(days=40), BASE),
        ).fetchall()
        assert {(team, amount) for team, amount, _ in judged} == {("infra", Decimal("0.01")), ("search", 100)}
        assert len(judged) == 4  # two or three months each, as far back as the range goes
        assert conn.execute("SELECT * FROM spend_rollup_verify()").fetchall() == []
        assert_rollups_exact(conn, pruned)
        assert outdated_objects(conn) == []
    assert catalog_differences(catalog(fresh_url), catalog(empty_database_url)) == []
    assert migrate_schema(empty_database_url).migrations == []


def test_a_changed_migration_that_is_not_a_legacy_file_stays_an_error(empty_database_url: str) -> None:
    build_legacy(empty_database_url)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = '0004_views'")
    with pytest.raises(migrate_module.MigrationError, match="changed after it was applied"):
        migrate_schema(empty_database_url)


def test_migrate_twice_is_a_no_op(fresh_url: str) -> None:
    with psycopg.connect(fresh_url) as conn:
        recorded = conn.execute("SELECT path, checksum, applied_at FROM schema_objects ORDER BY 1").fetchall()
    before = catalog(fresh_url)
    again = migrate_schema(fresh_url)
    assert (again.migrations, again.changed_objects, again.backfills) == ([], [], [])
    assert catalog(fresh_url) == before
    with psycopg.connect(fresh_url) as conn:
        assert (
            conn.execute("SELECT path, checksum, applied_at FROM schema_objects ORDER BY 1").fetchall()
            == recorded
        )
        assert conn.execute("SELECT count(*) FROM schema_backfills").fetchone() == (0,)
    assert readiness_check(fresh_url) == (True, "ready")


@pytest.fixture
def schema_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    copy = tmp_path / "schema"
    shutil.copytree(migrate_module.schema_dir(), copy)
    monkeypatch.setattr(migrate_module, "schema_dir", lambda: copy)
    yield copy


def test_an_edited_object_file_is_out_of_date_until_migrate_runs(
    database_url: str, schema_copy: Path
) -> None:
    edited = schema_copy / "objects" / "50_panels" / "150_org_totals.sql"
    edited.write_text(edited.read_text() + "\n-- edited\n")
    with psycopg.connect(database_url) as conn:
        assert [o.name for o in outdated_objects(conn)] == ["50_panels/150_org_totals.sql"]
    assert readiness_check(database_url) == (
        False,
        "schema objects out of date: 50_panels/150_org_totals.sql",
    )
    result = migrate_schema(database_url)
    assert result.migrations == [] and result.changed_objects == ["50_panels/150_org_totals.sql"]
    assert readiness_check(database_url) == (True, "ready")


def test_a_new_rollup_migration_is_backfilled_after_the_objects(database_url: str, schema_copy: Path) -> None:
    """A migration only creates, registers and queues; the backfill runs with the current objects."""
    (schema_copy / "migrations" / "9000_test_rollup.sql").write_text(
        "CREATE TABLE spend_daily_test (bucket TIMESTAMPTZ NOT NULL, team TEXT NOT NULL,\n"
        "    calls BIGINT NOT NULL DEFAULT 0, error_calls BIGINT NOT NULL DEFAULT 0,\n"
        "    unpriced_calls BIGINT NOT NULL DEFAULT 0, long_context_calls BIGINT NOT NULL DEFAULT 0,\n"
        "    input_tokens NUMERIC NOT NULL DEFAULT 0, output_tokens NUMERIC NOT NULL DEFAULT 0,\n"
        "    cache_read_tokens NUMERIC NOT NULL DEFAULT 0, cache_write_tokens NUMERIC NOT NULL DEFAULT 0,\n"
        "    reasoning_tokens NUMERIC NOT NULL DEFAULT 0, cost_usd NUMERIC NOT NULL DEFAULT 0,\n"
        "    list_cost_usd NUMERIC NOT NULL DEFAULT 0, reported_cost_usd NUMERIC NOT NULL DEFAULT 0,\n"
        "    PRIMARY KEY (bucket, team));\n"
        "INSERT INTO spend_rollup_registry (rollup, position, grain, keys)\n"
        "    VALUES ('spend_daily_test', 6, 'day', ARRAY['bucket', 'team']);\n"
        "INSERT INTO schema_backfills (migration, action, rollup)\n"
        "    VALUES ('9000_test_rollup', 'derive', 'spend_daily_test');\n"
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(conn, random_calls(random.Random(81), 200))
    result = migrate_schema(database_url)
    assert result.migrations == ["9000_test_rollup"]
    assert result.backfills == ["9000_test_rollup: derive spend_daily_test"]
    with psycopg.connect(database_url) as conn:
        assert (
            conn.execute(
                "SELECT (SELECT sum(cost_usd) FROM spend_daily_test), (SELECT sum(cost_usd) FROM spend_daily)"
            ).fetchone()
            == conn.execute("SELECT sum(cost_usd), sum(cost_usd) FROM spend_daily").fetchone()
        )
        assert conn.execute("SELECT * FROM spend_rollup_verify()").fetchall() == []
        assert conn.execute("SELECT count(*) FROM schema_backfills").fetchone() == (0,)
