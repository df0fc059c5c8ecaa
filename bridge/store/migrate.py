"""Versioned SQL migrations from `schema/`, applied in order under an advisory lock."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg

# Any constant works; it only has to be the same for every agent-spend process.
LOCK_ID = 0x_A6E7_5E7D


def schema_dir() -> Path:
    packaged = Path(__file__).resolve().parents[1] / "_schema"  # wheel installs (see pyproject force-include)
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "schema"


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


class MigrationError(RuntimeError):
    pass


def available(directory: Path | None = None) -> list[Migration]:
    directory = directory or schema_dir()
    return [Migration(p.stem, p) for p in sorted(directory.glob("[0-9]*.sql"))]


CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT PRIMARY KEY,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


def applied(conn: psycopg.Connection) -> dict[str, str]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    return dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())


def pending(conn: psycopg.Connection) -> list[Migration]:
    done = applied(conn)
    return [m for m in available() if m.version not in done]


def migrate(database_url: str, before: str | None = None) -> list[str]:
    """Apply what is missing; safe to run concurrently and repeatedly.

    `before` stops at the first migration whose version is not below it: a database as an
    older release left it, to test what a later migration does to existing data.
    """
    newly_applied: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        try:
            conn.execute(CREATE_TABLE)
            done = applied(conn)
            for migration in available():
                if before is not None and migration.version >= before:
                    break
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.path.name} changed after it was applied; "
                            "add a new migration instead of editing an applied one"
                        )
                    continue
                with conn.transaction():
                    conn.execute(migration.sql)  # type: ignore[arg-type]
                    conn.execute(
                        "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
                        (migration.version, migration.checksum),
                    )
                newly_applied.append(migration.version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))
    return newly_applied
