"""Grafana's login: a member of agent_spend_reader that reads rollups and never touches raw rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bridge.cli import main
from tests.support.rollups import BASE, call, insert_calls


@pytest.fixture
def login(server_url: str) -> Iterator[str]:
    """A role name unique to this test; roles are server-wide, databases are not."""
    name = f"grafana_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def _as(database_url: str, user: str, password: str) -> psycopg.Connection:
    params = conninfo_to_dict(database_url) | {"user": user, "password": password}
    return psycopg.connect(make_conninfo(**params), autocommit=True)


def _reader_role(database_url: str, login: str, password: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        [
            "reader-role",
            "--database-url",
            database_url,
            "--login",
            login,
            "--password-env",
            "TEST_GRAFANA_PW",
        ],
        env={"TEST_GRAFANA_PW": password},
    )
    return result.exit_code, result.output


def test_reader_login_reads_rollups_only(database_url: str, login: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(conn, [call("k", BASE, session_id="s")])
    code, out = _reader_role(database_url, login, "first-pw")
    assert code == 0 and f"created login role '{login}'" in out
    code, out = _reader_role(database_url, login, "second-pw")  # idempotent; rotates the password
    assert code == 0 and f"updated login role '{login}'" in out

    with _as(database_url, login, "second-pw") as conn:
        for table in ("spend_hourly", "spend_daily", "session_rollup", "retention_state"):
            conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
        assert conn.execute("SELECT sum(calls) FROM spend_hourly").fetchone() == (1,)
        # Read-only by default, whatever grants a future migration might add...
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        # Dashboard aggregations get room to hash in memory (READER_SETTINGS).
        assert conn.execute("SHOW work_mem").fetchone() == ("32MB",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM spend_hourly")
        # ...and without the privileges even when the session turns that off.
        conn.execute("SET default_transaction_read_only = off")
        for statement in (
            "SELECT * FROM agent_spend_logs",
            "SELECT * FROM session_archive",
            "INSERT INTO agent_spend_logs (dedup_key, ts, source, signal, model) "
            "VALUES ('x', now(), 's', 'log', 'm')",
            "DELETE FROM spend_hourly",
            "UPDATE spend_daily SET calls = 0",
            "TRUNCATE session_rollup",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)

    with psycopg.connect(database_url) as conn:
        member = conn.execute("SELECT pg_has_role(%s, 'agent_spend_reader', 'USAGE')", (login,)).fetchone()
        assert member == (True,)
        verifier = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (login,)).fetchone()
        assert verifier and verifier[0].startswith("SCRAM-SHA-256$")


def test_reader_role_refuses_admin_roles_and_missing_passwords(database_url: str, login: str) -> None:
    code, out = _reader_role(database_url, "postgres", "pw")
    assert code == 1 and "refusing" in out
    code, out = _reader_role(database_url, "agent_spend_reader", "pw")
    assert code == 1 and "refusing" in out
    code, out = _reader_role(database_url, login, "")
    assert code == 2 and "TEST_GRAFANA_PW" in out
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone() is None
        # A role that can already write must not be blessed as Grafana's reader.
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login)))
        conn.execute(sql.SQL("GRANT INSERT ON spend_hourly TO {}").format(sql.Identifier(login)))
    code, out = _reader_role(database_url, login, "pw")
    assert code == 1 and "spend_hourly" in out
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute(
            "SELECT pg_has_role(%s, 'agent_spend_reader', 'MEMBER')", (login,)
        ).fetchone() == (False,)
        conn.execute(sql.SQL("REVOKE ALL ON spend_hourly FROM {}").format(sql.Identifier(login)))


def test_reader_role_checks_tables_added_by_later_migrations(database_url: str, login: str) -> None:
    """The privilege check covers every table of the schema, not a list that can go stale."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login)))
        conn.execute(sql.SQL("GRANT UPDATE ON spend_daily_coarse TO {}").format(sql.Identifier(login)))
    code, out = _reader_role(database_url, login, "pw")
    assert code == 1 and "spend_daily_coarse" in out
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("REVOKE ALL ON spend_daily_coarse FROM {}").format(sql.Identifier(login)))
    code, out = _reader_role(database_url, login, "pw")
    assert code == 0, out
