"""The no-Docker lab: embedded PostgreSQL, the bridge and (if installed) Grafana as
background processes under `.lab/`, so `make lab` works on a bare machine.

With a Docker engine the Makefile uses deploy/docker-compose instead; both paths expose
the same ports and the same Grafana provisioning.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from bridge import config

if TYPE_CHECKING:
    from bridge.lab.embedded_db import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[2]
GRAFANA_PASSWORD = "grafana"  # lab only: the reader login can SELECT views and nothing else


@dataclass(frozen=True)
class LabPaths:
    """Where the lab keeps its data, pid files and logs (`.lab/`, or $AGENT_SPEND_LAB_DIR)."""

    root: Path

    @property
    def lab(self) -> Path:
        return Path(os.environ.get("AGENT_SPEND_LAB_DIR") or self.root / ".lab")

    @property
    def postgres(self) -> Path:
        return self.lab / "postgres"

    @property
    def database_url(self) -> Path:
        return self.lab / "database_url"

    def pid(self, name: str) -> Path:
        return self.lab / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.lab / f"{name}.log"


def _say(line: str) -> None:
    print(line, flush=True)


class LabError(RuntimeError):
    """A lab process did not come up; the message says which and shows its log's last lines."""


def _embedded(paths: LabPaths, port: int = 0) -> EmbeddedPostgres:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bridge.lab.embedded_db import EmbeddedPostgres
    return EmbeddedPostgres(paths.postgres, port=port)


def _alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def _spawn(paths: LabPaths, name: str, args: list[str], env: dict[str, str] | None = None) -> int:
    log = paths.log(name).open("ab")
    process = subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    paths.pid(name).write_text(f"{process.pid}\n")
    return process.pid


def _wait_http(url: str, timeout: float, pid_file: Path, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _alive(pid_file) is None:
            raise LabError(f"process exited; last lines of {log}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise LabError(f"{url} not ready after {timeout:.0f}s; see {log}:\n{_tail(log)}")


def _tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def _stop(paths: LabPaths, name: str, timeout: float = 30) -> bool:
    pid = _alive(paths.pid(name))
    if pid is None:
        paths.pid(name).unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(paths.pid(name)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(paths.pid(name)):
        os.killpg(pid, signal.SIGKILL)
    paths.pid(name).unlink(missing_ok=True)
    return True


def _grafana_command() -> list[str] | None:
    home = os.environ.get("GRAFANA_HOME")
    if home and Path(home, "bin", "grafana").exists():  # an unpacked standalone Grafana
        return [str(Path(home, "bin", "grafana")), "server"]
    if binary := shutil.which("grafana"):
        return [binary, "server"]
    if binary := shutil.which("grafana-server"):
        return [binary]
    return None


def _grafana_home() -> str | None:
    for candidate in (
        os.environ.get("GRAFANA_HOME"),
        "/usr/share/grafana",
        "/opt/homebrew/share/grafana",
        "/usr/local/share/grafana",
    ):
        if candidate and Path(candidate, "conf", "defaults.ini").exists():
            return candidate
    return None


def up(paths: LabPaths, grpc_port: int, http_port: int, pg_port: int, grafana_port: int) -> None:
    paths.lab.mkdir(exist_ok=True)
    server = _embedded(paths, pg_port).start()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'agent_spend'").fetchone():
            conn.execute("CREATE DATABASE agent_spend")
    url = server.url("agent_spend")
    paths.database_url.write_text(url + "\n")
    python = sys.executable
    subprocess.run([python, "-m", "bridge", "migrate", "--database-url", url], check=True, cwd=ROOT)
    reader = subprocess.run(
        [
            python,
            "-m",
            "bridge",
            "reader-role",
            "--database-url",
            url,
            "--login",
            "grafana",
            "--password-env",
            "GRAFANA_DB_PASSWORD",
        ],
        cwd=ROOT,
        env={**os.environ, "GRAFANA_DB_PASSWORD": GRAFANA_PASSWORD},
        capture_output=True,
        text=True,
    )
    if reader.returncode != 0:
        print(
            f"warning: could not create the Grafana reader login: {reader.stderr.strip()}",
            file=sys.stderr,
            flush=True,
        )

    if _alive(paths.pid("bridge")) is None:
        _spawn(
            paths,
            "bridge",
            [
                python,
                "-m",
                "bridge",
                "serve",
                "--database-url",
                url,
                "--host",
                "127.0.0.1",
                "--grpc-port",
                str(grpc_port),
                "--http-port",
                str(http_port),
            ],
        )
    _wait_http(f"http://127.0.0.1:{http_port}/readyz", 60, paths.pid("bridge"), paths.log("bridge"))

    _say("agent-spend lab is up (embedded PostgreSQL, no Docker engine found)")
    _say(f"  OTLP gRPC      http://127.0.0.1:{grpc_port}")
    _say(f"  OTLP HTTP      http://127.0.0.1:{http_port}   (/v1/traces, /v1/logs, /metrics, /readyz)")
    _say(f"  PostgreSQL     {url}")
    _grafana_up(paths, server.port, grafana_port)


def _grafana_up(paths: LabPaths, pg_port: int, grafana_port: int) -> None:
    command, home = _grafana_command(), _grafana_home()
    if command is None or home is None:
        for line in (
            "  Grafana        not found (no `grafana` on PATH, no GRAFANA_HOME). One command gets it:",
            "                   macOS: `brew install grafana && make lab`",
            "                   Debian/Ubuntu (Grafana APT repo): `sudo apt-get install grafana && make lab`",
            "                   any OS with Docker: `make grafana`",
            "                 or unpack Grafana OSS from grafana.com/grafana/download, then",
            "                 `GRAFANA_HOME=/path/to/grafana make lab` (uses deploy/grafana/provisioning).",
        ):
            _say(line)
        return
    if _alive(paths.pid("grafana")) is None:
        env = {
            "GF_PATHS_PROVISIONING": str(ROOT / "deploy/grafana/provisioning"),
            "GF_PATHS_DATA": str(paths.lab / "grafana"),
            "GF_PATHS_LOGS": str(paths.lab / "grafana"),
            "GF_SERVER_HTTP_PORT": str(grafana_port),
            "GF_AUTH_ANONYMOUS_ENABLED": "true",
            "GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer",
            "AGENT_SPEND_PG_HOST": f"127.0.0.1:{pg_port}",
            "AGENT_SPEND_PG_DATABASE": "agent_spend",
            "AGENT_SPEND_DASHBOARDS_DIR": str(ROOT / "dashboards"),
            "GRAFANA_DB_PASSWORD": GRAFANA_PASSWORD,
            # The alert contact point (docs/alerts.md): yours if set, else addresses that go nowhere.
            **{name: os.environ.get(name) or value for name, value in config.ALERT_GRAFANA_DEFAULTS.items()},
        }
        _spawn(paths, "grafana", [*command, "--homepath", home], env)
    _wait_http(f"http://127.0.0.1:{grafana_port}/api/health", 90, paths.pid("grafana"), paths.log("grafana"))
    _say(f"  Grafana        http://127.0.0.1:{grafana_port}   (anonymous viewer; admin/admin)")


def down(paths: LabPaths) -> None:
    for name in ("grafana", "bridge"):
        if _stop(paths, name):
            _say(f"stopped {name}")
    if paths.postgres.exists():
        _embedded(paths).stop()
        _say("stopped postgres (data kept in .lab/)")


def clean(paths: LabPaths) -> None:
    down(paths)
    shutil.rmtree(paths.lab, ignore_errors=True)
    _say("removed .lab/")


def database_url(paths: LabPaths) -> str:
    """The lab database URL (for `make psql`); LabError if the lab was never set up."""
    if not paths.database_url.exists():
        raise LabError("the lab is not set up; run `make lab` first")
    return paths.database_url.read_text().strip()
