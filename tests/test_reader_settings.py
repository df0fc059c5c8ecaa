"""`agent-spend reader-role` bounds the Grafana login's queries with a statement_timeout."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bridge.cli import main


@pytest.fixture
def login(server_url: str, database_url: str) -> Iterator[str]:
    name = f"grafana_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def _setting(database_url: str, login: str, name: str) -> str:
    params = conninfo_to_dict(database_url)
    params.update(user=login, password="pw-1")
    with psycopg.connect(make_conninfo(**params)) as conn:
        return str(conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0])  # type: ignore[index]


def test_reader_login_gets_a_statement_timeout(database_url: str, login: str) -> None:
    args = ["reader-role", "--database-url", database_url, "--login", login, "--password-env", "PW"]
    result = CliRunner().invoke(main, args, env={"PW": "pw-1"})
    assert result.exit_code == 0 and "statement_timeout=30s" in result.output
    assert _setting(database_url, login, "statement_timeout") == "30s"
    result = CliRunner().invoke(main, [*args, "--statement-timeout", "5s"], env={"PW": "pw-1"})
    assert result.exit_code == 0, result.output
    assert _setting(database_url, login, "statement_timeout") == "5s"
    params = conninfo_to_dict(database_url)
    params.update(user=login, password="pw-1")
    with psycopg.connect(make_conninfo(**params)) as conn, pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute("SET statement_timeout = '50ms'")
        conn.execute("SELECT pg_sleep(2)")


def _reader(database_url: str, login: str) -> psycopg.Connection:
    """The login as a hostile dashboard user would use it: read-only switched off first (it is
    only a session default), so what stops a temporary table is the missing privilege."""
    params = conninfo_to_dict(database_url)
    params.update(user=login, password="pw-1")
    conn = psycopg.connect(make_conninfo(**params), autocommit=True)
    conn.execute("SET default_transaction_read_only = off")
    return conn


def test_reader_login_cannot_create_temporary_tables(database_url: str, login: str) -> None:
    args = ["reader-role", "--database-url", database_url, "--login", login, "--password-env", "PW"]
    result = CliRunner().invoke(main, args, env={"PW": "pw-1"})
    assert result.exit_code == 0 and "no TEMP" in result.output, result.output
    with _reader(database_url, login) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("CREATE TEMP TABLE scratch (i int)")
    with psycopg.connect(database_url) as owner:  # the bridge's staging table still works
        owner.execute("CREATE TEMP TABLE staging_probe (i int)")
        acl = owner.execute(
            "SELECT datacl::text FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        user = owner.execute("SELECT current_user").fetchone()
    assert acl is not None and user is not None
    assert f"{user[0]}=" in acl[0] and "T" in acl[0].split(f"{user[0]}=")[1].split("/")[0]
    assert not any(
        entry.startswith("=") and "T" in entry.split("/")[0] for entry in acl[0].strip("{}").split(",")
    )


def test_keep_public_temp_leaves_temporary_tables_to_the_reader(database_url: str, login: str) -> None:
    args = ["reader-role", "--database-url", database_url, "--login", login, "--password-env", "PW"]
    result = CliRunner().invoke(main, [*args, "--keep-public-temp"], env={"PW": "pw-1"})
    assert result.exit_code == 0 and "TEMP as for PUBLIC" in result.output, result.output
    with _reader(database_url, login) as conn:
        conn.execute("CREATE TEMP TABLE scratch (i int)")
