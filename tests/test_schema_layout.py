"""schema/ = migrations (tables, indexes, data, run once) + objects (live definitions, re-applied).

Each function, view, type, trigger, table and index is created in exactly one file;
migrations create no function, view, type or trigger; the object files, in their path
order, build the schema on an empty database (SQL function bodies checked at creation).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import psycopg

from bridge import config
from bridge.store.migrate import available, migrate_schema, object_files, schema_dir
from tests.support.paths import ROOT

CREATE = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+)?(FUNCTION|VIEW|TYPE|TRIGGER|TABLE|INDEX)\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][\w.]*)",
    re.IGNORECASE,
)


def _without_comments(text: str) -> str:
    return re.sub(r"--[^\n]*", "", text)


def _creates(path: Path) -> list[tuple[str, str]]:
    return [
        (kind.upper(), name.lower()) for kind, name in CREATE.findall(_without_comments(path.read_text()))
    ]


def _schema_files() -> list[Path]:
    return sorted((ROOT / "schema").rglob("*.sql"))


def test_schema_dir_is_the_repository_schema() -> None:
    assert schema_dir() == ROOT / "schema"
    assert [p.name for p in (ROOT / "schema").iterdir() if p.is_file()] == []  # only the two folders


def test_every_object_is_created_in_one_file() -> None:
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in _schema_files():
        for key in set(_creates(path)):
            where[key].append(str(path.relative_to(ROOT)))
    twice = {f"{kind} {name}": files for (kind, name), files in where.items() if len(files) > 1}
    assert twice == {}
    assert len(where) > 100


def test_migrations_create_no_function_view_type_or_trigger() -> None:
    for migration in available():
        kinds = {kind for kind, _ in _creates(migration.path)}
        assert kinds <= {"TABLE", "INDEX"}, (migration.path.name, kinds)


def test_object_files_are_in_numbered_folders_and_hold_no_tables() -> None:
    files = object_files()
    assert files
    for obj in files:
        folder = obj.name.split("/")[0]
        assert re.fullmatch(r"\d\d_[a-z_]+", folder), obj.name
        kinds = {kind for kind, _ in _creates(obj.path)}
        assert not kinds & {"TABLE", "INDEX"}, (obj.name, kinds)
        text = _without_comments(obj.sql)
        # Re-run on every migrate: no bare CREATE of a function, view or trigger.
        assert not re.search(r"\bCREATE\s+(FUNCTION|VIEW|TRIGGER)\b", text, re.IGNORECASE), obj.name


def test_the_object_files_in_order_build_an_empty_database(empty_database_url: str) -> None:
    result = migrate_schema(empty_database_url)
    assert result.migrations == [m.version for m in available()]
    assert result.objects == len(object_files())
    assert sorted(result.changed_objects) == sorted(o.name for o in object_files())
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SHOW check_function_bodies").fetchone() == ("on",)
        functions = {
            r[0]
            for r in conn.execute(
                "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace"
            )
        }
        views = {
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c "
                "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'"
            )
        }
    created = {
        name for obj in object_files() for kind, name in _creates(obj.path) if kind in ("FUNCTION", "VIEW")
    }
    assert functions | views == created


def test_sql_long_context_threshold_is_the_python_one(database_url: str) -> None:
    """One number in two languages: the pricer's tier and the dashboards' long-context count."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT spend_long_context_threshold()").fetchone()
    assert row == (config.LONG_CONTEXT_THRESHOLD,)
    literals = [
        path.relative_to(ROOT)
        for path in schema_dir().joinpath("objects").rglob("*.sql")
        if re.search(r"\b200000\b", _without_comments(path.read_text()))
        and path.name != "005_spend_long_context_threshold.sql"
    ]
    assert literals == []
