"""The lab commands and the seeder, run for real against a real bridge."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.bridge_process import BridgeProcess
from tests.support.db import rows
from tests.support.otlp import get
from tests.support.paths import ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf", "http/json"])
def test_seed_sends_every_call_once_over_each_protocol(
    bridge: BridgeProcess, database_url: str, protocol: str
) -> None:
    endpoint = bridge.grpc_url if protocol == "grpc" else bridge.http_url
    result = _cli(
        "seed", "--endpoint", endpoint, "--protocol", protocol, "--days", "2", "--users", "4", "--seed", "7"
    )
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    model_calls = int(words[words.index("spans") + 1].lstrip("("))
    assert "rejected 0" in result.stdout
    stored = rows(
        database_url,
        "SELECT count(*), count(DISTINCT user_id), count(DISTINCT harness_name) FROM agent_spend_logs",
    )[0]
    assert stored[0] == model_calls > 100
    assert stored[1] >= 4 and stored[2] >= 3  # 4 developers (plus a CI bot when CI ran)
    # Seeding again with the same seed is a replay: nothing new.
    again = _cli(
        "seed", "--endpoint", endpoint, "--protocol", protocol, "--days", "2", "--users", "4", "--seed", "7"
    )
    assert again.returncode == 0
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs")[0][0] == model_calls


@pytest.mark.e2e
def test_seed_reports_an_unreachable_endpoint_clearly() -> None:
    result = _cli(
        "seed", "--endpoint", f"http://127.0.0.1:{_free_port()}", "--protocol", "http/json", timeout=60
    )
    assert result.returncode == 1 and "Error" in result.stderr


FAKE_GRAFANA = """#!{python}
# Stands in for Grafana: records how the lab started it and answers /api/health.
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
os.makedirs(os.environ["GF_PATHS_DATA"], exist_ok=True)
with open(os.path.join(os.environ["GF_PATHS_DATA"], "started.json"), "w") as f:
    json.dump({{"argv": sys.argv[1:], "env": dict(os.environ)}}, f)
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
HTTPServer(("127.0.0.1", int(os.environ["GF_SERVER_HTTP_PORT"])), H).serve_forever()
"""


def _fake_grafana_home(tmp_path: Path) -> Path:
    home = tmp_path / "grafana-home"
    (home / "bin").mkdir(parents=True)
    (home / "conf").mkdir()
    (home / "conf" / "defaults.ini").write_text("")
    binary = home / "bin" / "grafana"
    binary.write_text(FAKE_GRAFANA.format(python=sys.executable))
    binary.chmod(0o755)
    return home


@pytest.mark.db  # the lab starts a PostgreSQL of its own
@pytest.mark.e2e
def test_lab_up_seed_down_clean(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    env = {
        "AGENT_SPEND_LAB_DIR": str(lab_dir),
        "PATH": "/usr/bin:/bin",
        "GRAFANA_HOME": str(_fake_grafana_home(tmp_path)),
    }
    grpc_port, http_port, pg_port, grafana_port = _free_port(), _free_port(), _free_port(), _free_port()
    ports = ["--grpc-port", str(grpc_port), "--http-port", str(http_port), "--pg-port", str(pg_port)]
    try:
        up = _cli("lab", "up", *ports, "--grafana-port", str(grafana_port), env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"http://127.0.0.1:{grpc_port}" in up.stdout
        assert f"Grafana        http://127.0.0.1:{grafana_port}" in up.stdout
        started = json.loads((lab_dir / "grafana" / "started.json").read_text())
        assert started["argv"] == ["server", "--homepath", env["GRAFANA_HOME"]]
        assert started["env"]["GF_PATHS_PROVISIONING"] == str(ROOT / "deploy/grafana/provisioning")
        assert started["env"]["AGENT_SPEND_DASHBOARDS_DIR"] == str(ROOT / "dashboards")
        assert started["env"]["AGENT_SPEND_PG_HOST"] == f"127.0.0.1:{pg_port}"
        assert get(f"http://127.0.0.1:{http_port}/readyz") == (200, b"ready\n")
        url = _cli("lab", "database-url", env=env).stdout.strip()
        assert url.endswith(f":{pg_port}/agent_spend")
        seeded = _cli("seed", "--endpoint", f"http://127.0.0.1:{grpc_port}", "--days", "1", "--users", "2")
        assert seeded.returncode == 0, seeded.stderr
        assert rows(url, "SELECT count(*) FROM agent_spend_logs")[0][0] > 0
        # Running `lab up` again is harmless: same processes, same data.
        again = _cli("lab", "up", *ports, "--grafana-port", str(grafana_port), env=env)
        assert again.returncode == 0, again.stderr
        assert rows(url, "SELECT count(*) FROM agent_spend_logs")[0][0] > 0
        down = _cli("lab", "down", env=env)
        assert down.returncode == 0 and "stopped bridge" in down.stdout and "stopped grafana" in down.stdout
        assert (tmp_path / "lab" / "postgres" / "pgdata").exists(), "down keeps data"
    finally:
        clean = _cli("lab", "clean", env=env)
    assert clean.returncode == 0 and not (tmp_path / "lab").exists()


def test_lab_without_grafana_says_how_to_get_it(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bridge.lab import lab

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("GRAFANA_HOME", raising=False)
    monkeypatch.setattr(lab, "_grafana_home", lambda: None)
    lab._grafana_up(lab.LabPaths(tmp_path), pg_port=1, grafana_port=2)
    out = capsys.readouterr().out
    assert "make grafana" in out and "GRAFANA_HOME=" in out and "brew install grafana" in out
    assert not (tmp_path / ".lab" / "grafana.pid").exists()
