"""The pre-split schema (0001-0007 as single files) and catalog snapshots to compare schemas.

tests/fixtures/legacy_schema_0001_0007.tar.gz holds schema/0001_core.sql ... 0007 as they
were before migrations/ and objects/: `build_legacy` migrates a database with them exactly
as the old migrate() did, to test upgrades of databases created by earlier releases.
"""

from __future__ import annotations

import hashlib
import tarfile
from typing import Any

import psycopg

from tests.support.paths import ROOT

LEGACY_ARCHIVE = ROOT / "tests" / "fixtures" / "legacy_schema_0001_0007.tar.gz"


def legacy_files() -> list[tuple[str, bytes]]:
    """(version, file contents) of the pre-split migrations, in order."""
    out: list[tuple[str, bytes]] = []
    with tarfile.open(LEGACY_ARCHIVE) as archive:
        for member in sorted(archive.getmembers(), key=lambda m: m.name):
            handle = archive.extractfile(member)
            assert handle is not None
            out.append((member.name.removesuffix(".sql"), handle.read()))
    return out


def build_legacy(database_url: str, before: str | None = None) -> list[str]:
    """What the pre-split migrate() did: each file in its transaction, version + checksum."""
    versions: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, checksum TEXT NOT NULL, "
            "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        for version, text in legacy_files():
            if before is not None and version >= before:
                break
            with conn.transaction():
                conn.execute(text.decode())  # type: ignore[call-overload]
                conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                    (version, hashlib.sha256(text).hexdigest()),
                )
            versions.append(version)
    return versions


# Bookkeeping of the split layout, absent from databases the legacy files built.
BOOKKEEPING_TABLES = ("schema_migrations", "schema_objects", "schema_backfills")

CATALOG_QUERIES: dict[str, str] = {
    "functions": """
        SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid)
        FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
    """,
    "views": """
        SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')
    """,
    "types": """
        SELECT t.typname, string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
                                     ORDER BY a.attnum)
        FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE t.typnamespace = 'public'::regnamespace GROUP BY t.typname
    """,
    "triggers": """
        SELECT tg.tgname, pg_get_triggerdef(tg.oid) FROM pg_trigger tg
        JOIN pg_class c ON c.oid = tg.tgrelid
        WHERE c.relnamespace = 'public'::regnamespace AND NOT tg.tgisinternal AND NOT c.relispartition
    """,
    "columns": """
        SELECT c.relname || '.' || a.attname,
               format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
               || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') || ' #' || a.attnum
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    """,
    "indexes": """
        SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('i', 'I') AND NOT c.relispartition
    """,
    "constraints": """
        SELECT cl.relname || '.' || co.conname, pg_get_constraintdef(co.oid) FROM pg_constraint co
        JOIN pg_class cl ON cl.oid = co.conrelid
        WHERE co.connamespace = 'public'::regnamespace AND NOT cl.relispartition
    """,
    "grants": """
        SELECT kind || ' ' || name || ' ' || coalesce(grantee::regrole::text, 'PUBLIC'),
               string_agg(privilege_type, ',' ORDER BY privilege_type)
        FROM (
            SELECT 'relation' AS kind, c.relname::text AS name, (aclexplode(c.relacl)).*
            FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relacl IS NOT NULL
              AND NOT c.relispartition
            UNION ALL
            SELECT 'function', p.oid::regprocedure::text,
                   (aclexplode(coalesce(p.proacl, acldefault('f', p.proowner)))).*
            FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
            UNION ALL
            SELECT 'type', t.typname::text, (aclexplode(coalesce(t.typacl, acldefault('T', t.typowner)))).*
            FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
            WHERE t.typnamespace = 'public'::regnamespace
            UNION ALL
            SELECT 'database', 'current', (aclexplode(coalesce(d.datacl, acldefault('d', d.datdba)))).*
            FROM pg_database d WHERE d.datname = current_database()
            UNION ALL
            SELECT 'schema', n.nspname::text, (aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner)))).*
            FROM pg_namespace n WHERE n.nspname = 'public'
        ) x
        GROUP BY 1
    """,
    "comments": """
        SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND obj_description(c.oid, 'pg_class') IS NOT NULL
    """,
}


def catalog(database_url: str) -> dict[str, dict[str, Any]]:
    """Every definition of the public schema, by kind then name, bookkeeping tables left out."""
    out: dict[str, dict[str, Any]] = {}
    with psycopg.connect(database_url) as conn:
        for kind, query in CATALOG_QUERIES.items():
            found = {str(name): value for name, value in conn.execute(query)}  # type: ignore[arg-type]
            out[kind] = {n: v for n, v in found.items() if not any(t in n for t in BOOKKEEPING_TABLES)}
    return out


def catalog_differences(left: dict[str, dict[str, Any]], right: dict[str, dict[str, Any]]) -> list[str]:
    """Readable differences between two catalog() snapshots; empty when identical."""
    problems: list[str] = []
    for kind in left.keys() | right.keys():
        a, b = left.get(kind, {}), right.get(kind, {})
        for name in sorted(a.keys() - b.keys()):
            problems.append(f"{kind} {name}: only on the left")
        for name in sorted(b.keys() - a.keys()):
            problems.append(f"{kind} {name}: only on the right")
        for name in sorted(a.keys() & b.keys()):
            if a[name] != b[name]:
                problems.append(f"{kind} {name}: differs\n--- left\n{a[name]}\n--- right\n{b[name]}")
    return problems
