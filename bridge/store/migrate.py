"""The schema from `schema/`: versioned migrations, then the object files, under an advisory lock.

schema/migrations/NNNN_*.sql hold tables, indexes and data changes. Each is applied once, in
its own transaction, and recorded with its checksum in schema_migrations; editing an
applied one is an error. schema/objects/<folder>/<object>.sql hold the functions, views,
types, triggers, the reader role and the grants: every run re-applies all of them, in path
order, in one transaction, and records their checksums in schema_objects. A migration that
needs data computed by objects (a rollup's backfill) queues it in schema_backfills; the
queue is drained in the objects' transaction, once the objects it calls are current, and the
day partitions of agent_spend_logs around today are created there too (migration 0012).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every agent-spend process.
LOCK_ID = 0x_A6E7_5E7D

# sha256 of schema/0001_core.sql ... 0007_rollup_registry.sql before the split into
# migrations/ and objects/: databases migrated by those files carry these checksums, which
# are accepted once and replaced by the current file's.
LEGACY_CHECKSUMS: dict[str, str] = {
    "0001_core": "d499a60128e8b6d1d2a0747dc4b1b2a2a3f7f2d94dec29c4ba9a2c004e8f3f39",
    "0002_pricing": "63f761b47accb64fa890f9266229ff2128a21ccf97bd6ad58bb7fc341d7483d4",
    "0003_rollups": "b7fb26adc2b952ddf6438b8e6c1a1645d5d558ba8f88e16d8d3198a12859a158",
    "0004_views": "2ec7fca5c63f3312352af2fab13e8b6b7e536deafc0cf35c0a768dfce6bcab07",
    "0005_coarse_rollups": "9411ea4d34b8e99a72a579244c6c187783e0bc3dd4f626676bca4c79034d824d",
    "0006_dimension_rollups": "64614803ccab418a7900fa48be25d9747a162d48a47c19be01517f52974f1558",
    "0007_rollup_registry": "997410edb6c63fca5522989f1c1deecf7057ead7d1578a561698245b6f7debfa",
}


def schema_dir() -> Path:
    packaged = Path(__file__).resolve().parents[1] / "_schema"  # wheel installs (see pyproject force-include)
    if (packaged / "migrations").is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schema"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True, slots=True)
class Migration:
    """A numbered file of schema/migrations/: applied once, then only its checksum is compared."""

    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return _sha256(self.path)


@dataclass(frozen=True, slots=True)
class ObjectFile:
    """A file of schema/objects/: re-applied by every migrate, its checksum kept for /readyz."""

    name: str  # path relative to schema/objects, with "/" separators: the key in schema_objects
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return _sha256(self.path)


@dataclass(slots=True)
class MigrationResult:
    """What one migrate run did, for the CLI and the logs."""

    migrations: list[str] = field(default_factory=list)  # versions applied by this run, in order
    objects: int = 0  # object files applied (all of them, unless `before` was given)
    changed_objects: list[str] = field(default_factory=list)  # those whose checksum was new
    backfills: list[str] = field(default_factory=list)  # "version: action rollup" drained
    partitions: int = 0  # day partitions of agent_spend_logs created ahead by this run


class MigrationError(RuntimeError):
    """The schema cannot be brought to head safely (an applied migration was edited)."""


def available(directory: Path | None = None) -> list[Migration]:
    directory = directory or schema_dir() / "migrations"
    return [Migration(p.stem, p) for p in sorted(directory.glob("[0-9]*.sql"))]


def object_files(directory: Path | None = None) -> list[ObjectFile]:
    """Every object file in application order: folder, then file name."""
    directory = directory or schema_dir() / "objects"
    return [ObjectFile(p.relative_to(directory).as_posix(), p) for p in sorted(directory.glob("*/*.sql"))]


BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT PRIMARY KEY,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS schema_objects (
    path       TEXT PRIMARY KEY,             -- relative to schema/objects
    checksum   TEXT NOT NULL,                -- sha256 of the file last applied
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS schema_backfills (
    id         BIGSERIAL PRIMARY KEY,
    migration  TEXT NOT NULL,                -- the version that queued it
    action     TEXT NOT NULL CHECK (action IN ('rebuild', 'derive')),
    rollup     TEXT CHECK ((action = 'derive') = (rollup IS NOT NULL)),
    queued_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
"""


def _exists(conn: psycopg.Connection, table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


def applied(conn: psycopg.Connection) -> dict[str, str]:
    if not _exists(conn, "schema_migrations"):
        return {}
    return {str(v): str(c) for v, c in conn.execute("SELECT version, checksum FROM schema_migrations")}


def pending(conn: psycopg.Connection) -> list[Migration]:
    done = applied(conn)
    return [m for m in available() if m.version not in done]


def recorded_objects(conn: psycopg.Connection) -> dict[str, str]:
    if not _exists(conn, "schema_objects"):
        return {}
    return {str(p): str(c) for p, c in conn.execute("SELECT path, checksum FROM schema_objects")}


def outdated_objects(conn: psycopg.Connection) -> list[ObjectFile]:
    """Object files not applied as they are now (new or edited since the last migrate)."""
    recorded = recorded_objects(conn)
    return [o for o in object_files() if recorded.get(o.name) != o.checksum]


def _check_applied(conn: psycopg.Connection, migration: Migration, recorded: str) -> None:
    if recorded == migration.checksum:
        return
    if recorded == LEGACY_CHECKSUMS.get(migration.version):
        log.info("migration %s: accepting the checksum of its pre-split file", migration.version)
        conn.execute(
            "UPDATE schema_migrations SET checksum = %s WHERE version = %s",
            (migration.checksum, migration.version),
        )
        return
    raise MigrationError(
        f"migration {migration.path.name} changed after it was applied; "
        "add a new migration instead of editing an applied one"
    )


def _apply_objects(conn: psycopg.Connection, result: MigrationResult) -> None:
    files = object_files()
    recorded = recorded_objects(conn)
    # Function bodies are checked against what exists as each file is applied, whatever the
    # server's default: a wrong order or a stale reference fails here, not at first use.
    conn.execute("SET LOCAL check_function_bodies = on")
    for obj in files:
        try:
            conn.execute(obj.sql)
        except psycopg.Error as exc:
            raise MigrationError(f"object file {obj.name} failed: {exc}") from exc
        if recorded.get(obj.name) != obj.checksum:
            result.changed_objects.append(obj.name)
        conn.execute(
            "INSERT INTO schema_objects (path, checksum) VALUES (%s, %s) "
            "ON CONFLICT (path) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now() "
            "WHERE schema_objects.checksum IS DISTINCT FROM EXCLUDED.checksum",
            (obj.name, obj.checksum),
        )
    conn.execute("DELETE FROM schema_objects WHERE NOT (path = ANY (%s))", ([o.name for o in files],))
    result.objects = len(files)


def _drain_backfills(conn: psycopg.Connection, result: MigrationResult) -> None:
    queued = conn.execute("SELECT id, migration, action, rollup FROM schema_backfills ORDER BY id").fetchall()
    for backfill_id, version, action, rollup in queued:
        if action == "rebuild":
            # Every rollup from the raw rows after the retention horizon (history before it stays).
            conn.execute("SELECT count(*) FROM spend_rollup_rebuild()")
        else:
            # A derived rollup, every bucket (history before the retention horizon included),
            # re-aggregated from the hourly / daily rows it is registered on.
            row = conn.execute(
                "SELECT spend_rollup_project(r.rollup, format('SELECT * FROM %%I', "
                "CASE r.grain WHEN 'hour' THEN 'spend_hourly' ELSE 'spend_daily' END)) "
                "FROM spend_rollup_registry r WHERE r.rollup = %s",
                (rollup,),
            ).fetchone()
            if row is None:
                raise MigrationError(f"backfill of {version}: {rollup} is not in spend_rollup_registry")
            table = sql.Identifier(rollup)
            conn.execute(sql.SQL("DELETE FROM {}").format(table))
            conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM ({}) a").format(table, sql.SQL(row[0])))
            conn.execute(sql.SQL("ANALYZE {}").format(table))
        conn.execute("DELETE FROM schema_backfills WHERE id = %s", (backfill_id,))
        result.backfills.append(f"{version}: {action}" + (f" {rollup}" if rollup else ""))


def migrate_schema(database_url: str, before: str | None = None) -> MigrationResult:
    """Apply pending migrations, then every object file and the queued backfills.

    `before` stops at the first migration whose version is not below it and applies no
    objects: the tables of an older release with no functions, views or triggers, to test
    what the later migrations and their backfills do to data already there.
    """
    result = MigrationResult()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        try:
            conn.execute(BOOKKEEPING)
            done = applied(conn)
            for migration in available():
                if before is not None and migration.version >= before:
                    break
                if migration.version in done:
                    _check_applied(conn, migration, done[migration.version])
                    continue
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                        (migration.version, migration.checksum),
                    )
                result.migrations.append(migration.version)
            if before is None:
                with conn.transaction():
                    _apply_objects(conn, result)
                    _drain_backfills(conn, result)
                    # The day partitions of agent_spend_logs around today (the bridge's
                    # writer keeps them ahead from then on).
                    row = conn.execute("SELECT spend_partition_maintain()").fetchone()
                    result.partitions = int(row[0]) if row else 0
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))
    return result


def migrate(database_url: str, before: str | None = None) -> list[str]:
    """Apply what is missing; safe to run concurrently and repeatedly. Returns the versions applied."""
    return migrate_schema(database_url, before).migrations
