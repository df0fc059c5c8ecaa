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
