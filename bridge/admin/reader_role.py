"""The database login Grafana uses, read-only by construction (`agent-spend reader-role`).

The schema (schema/objects/00_roles/) creates a NOLOGIN group role, agent_spend_reader,
that may SELECT the rollups and the dashboards' views and nothing else (in particular not agent_spend_logs:
views run with their owner's rights, so the raw rows never need to be exposed). This
command makes a LOGIN role a member of it. It refuses to touch a role that is powerful
already, and checks the result, so a typo in `--login` cannot hand Grafana an admin
account or leave it able to write. The command's options live in bridge/cli/reader_role.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

GROUP = "agent_spend_reader"

ROLE_FLAGS = """
    SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls
    FROM pg_roles WHERE rolname = %s
"""
# Any write on our tables, or any read of raw rows, through whatever path (other
# memberships, PUBLIC grants) makes the login unfit for Grafana.
# Every table of the schema is checked, so tables added by later migrations are covered.
EXCESS_PRIVILEGES = """
    SELECT c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
      AND (has_table_privilege(%s, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
           OR (c.relname = 'agent_spend_logs' AND has_table_privilege(%s, c.oid, 'SELECT')))
    ORDER BY c.relname
"""


# Session settings of the login. Dashboard queries aggregate thousands of groups with
# exact NUMERIC sums; at PostgreSQL's default work_mem (4 MB) those hash tables spill to
# disk (measured: repository and developer panels 1.5x slower at 10M calls). Only this
# login gets more: the bridge's sessions keep the server default.
# statement_timeout: a dashboard query (or a user's ad-hoc SQL through Grafana) cannot hold a
# connection and the server's CPU for longer than this; `--statement-timeout` overrides it.
READER_SETTINGS: dict[str, str] = {"work_mem": "32MB", "statement_timeout": "30s"}


class ReaderRoleError(RuntimeError):
    """Refusal to configure a login: it is too powerful already, or would keep write access."""


@dataclass(frozen=True, slots=True)
class ReaderLogin:
    """The login `ensure_reader_login` configured, and whether it had to be created."""

    login: str
    created: bool


def ensure_reader_login(
    conn: psycopg.Connection[Any],
    login: str,
    password: str,
    settings: dict[str, str] | None = None,
    *,
    keep_public_temp: bool = False,
) -> ReaderLogin:
    """Create or update `login` as a password-authenticated member of agent_spend_reader.

    Idempotent; the password is sent as a SCRAM verifier computed here, so the plain text
    never reaches the server (or its statement log).

    Unless `keep_public_temp`, the login also loses TEMPORARY on this database: PostgreSQL
    grants it to PUBLIC, and the only way to deny one role is to revoke it from PUBLIC and
    grant it back to the role running this command (the schema owner, whose bridge needs its
    TEMP staging table). Other roles of this database lose it too, which is why it can be
    kept (`--keep-public-temp`) on a database shared with other applications.
    """
    if not password:
        raise ReaderRoleError("the password is empty")
    with conn.transaction():
        current = conn.execute("SELECT current_user").fetchone()
        if login in (GROUP, current[0] if current else None):
            raise ReaderRoleError(f"refusing to use {login!r} as the Grafana login")
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (GROUP,)).fetchone():
            raise ReaderRoleError(f"role {GROUP} does not exist; run `agent-spend migrate` first")
        flags = conn.execute(ROLE_FLAGS, (login,)).fetchone()
        if flags and flags[0]:
            raise ReaderRoleError(
                f"role {login!r} has administrative attributes; refusing to make it read-only"
            )
        verifier = conn.pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256").decode()
        role = sql.Identifier(login)
        if flags is None:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN INHERIT PASSWORD {}").format(role, sql.Literal(verifier))
            )
        else:
            conn.execute(
                sql.SQL("ALTER ROLE {} LOGIN INHERIT PASSWORD {}").format(role, sql.Literal(verifier))
            )
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(GROUP), role))
        # Defence in depth: even a future mistaken grant would not let a dashboard write.
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
        for name, value in {**READER_SETTINGS, **(settings or {})}.items():
            setting = sql.SQL("ALTER ROLE {} SET {} = {}")
            conn.execute(setting.format(role, sql.Identifier(name), sql.Literal(value)))
        if not keep_public_temp:
            database = sql.Identifier(str(conn.execute("SELECT current_database()").fetchone()[0]))  # type: ignore[index]
            conn.execute(sql.SQL("GRANT TEMPORARY ON DATABASE {} TO CURRENT_USER").format(database))
            conn.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(database))
            conn.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM {}").format(database, role))
            temp = conn.execute(
                "SELECT has_database_privilege(%s, current_database(), 'TEMPORARY')", (login,)
            ).fetchone()
            if temp and temp[0]:
                raise ReaderRoleError(
                    f"role {login!r} can still create temporary tables through another membership; "
                    "revoke TEMPORARY from it first"
                )
        excess = [r[0] for r in conn.execute(EXCESS_PRIVILEGES, (login, login)).fetchall()]
        if excess:
            raise ReaderRoleError(
                f"role {login!r} would still be able to write or read raw rows on {', '.join(excess)} "
                "through other grants or memberships; revoke those first"
            )
    return ReaderLogin(login, created=flags is None)
