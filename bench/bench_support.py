"""What the benches share: a PostgreSQL to measure on (embedded, durable like the lab, or
--database-url), fresh migrated databases cloned from a template, the bridge started as a
process on free loopback ports, and the CPU the bridge's and PostgreSQL's processes spent
(from /proc). bench_ingest.py, bench_memory.py and bench_soak.py import it.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "agent_spend_bench_template"


def start_bridge(url: str, workers: int = 1) -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bridge",
            "--log-level",
            "WARNING",
            "serve",
            "--database-url",
            url,
            "--grpc-port",
            "0",
            "--http-port",
            "0",
            "--workers",
            str(workers),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    ports = {}
    assert process.stdout is not None
    for line in process.stdout:
        key, _, value = line.strip().partition("=")
        ports[key] = value
        if len(ports) == 2:
            break
    return process, ports["grpc"], ports["http"]


def _with_database(url: str, name: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo("", **params)


@contextmanager
def bench_database(url: str | None, prefix: str = "agent-spend-bench-") -> Iterator[str]:
    """A migrated database: `url` as given, or a durable embedded PostgreSQL in a temporary
    directory (like the lab), stopped and deleted on the way out, Ctrl-C included."""
    with bench_server(url, prefix) as server_url:
        subprocess.run(
            [sys.executable, "-m", "bridge", "migrate", "--database-url", server_url],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        yield server_url


@contextmanager
def bench_server(url: str | None, prefix: str = "agent-spend-bench-") -> Iterator[str]:
    """A PostgreSQL server: `url`, or a durable embedded one in a temporary directory."""
    data_dir: Path | None = None
    server: Any = None
    try:
        if url is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from bridge.lab.embedded_db import EmbeddedPostgres
            data_dir = Path(tempfile.mkdtemp(prefix=prefix))
            server = EmbeddedPostgres(data_dir).start()
            url = server.url()
        yield url
    finally:
        if server is not None:
            try:
                server.stop()
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:  # e.g. stopped by Ctrl-C
                print(f"stopping PostgreSQL: {exc}", file=sys.stderr)
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)


class Databases:
    """Fresh migrated databases cloned from one template on the bench server."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.made: list[str] = []
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEMPLATE)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bridge",
                "migrate",
                "--database-url",
                _with_database(server_url, TEMPLATE),
            ],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )

    def fresh(self, name: str) -> str:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(TEMPLATE)
                )
            )
        self.made.append(name)
        return _with_database(self.server_url, name)

    def drop_all(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            for name in [*self.made, TEMPLATE]:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int | None) -> float:
    """CPU seconds (user + system) of process `root` and every live descendant, plus what its
    reaped children used: the bridge's supervisor and workers, or the PostgreSQL server and
    its backends. 0 when `root` is None or not readable here (a remote --database-url)."""
    if root is None:
        return 0.0
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15]) / _TICKS  # utime stime cutime cstime
        stack.extend(children.get(pid, []))
    return total


def server_pid(url: str) -> int | None:
    """The PostgreSQL postmaster's pid when its data directory is readable on this machine."""
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
        return int((Path(row[0]) / "postmaster.pid").read_text().split("\n", 1)[0]) if row else None
    except (psycopg.Error, OSError, ValueError):
        return None


def wait_ready(http_addr: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://{http_addr}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("bridge not ready")
        time.sleep(0.2)


def checkpoint(url: str) -> None:
    """Flush dirty buffers now, so that a run does not pay for the previous one's writes (when
    the role may: superuser or pg_checkpoint)."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        pass


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"
