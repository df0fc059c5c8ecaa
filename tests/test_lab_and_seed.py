"""The lab commands and the seeder, run for real against a real bridge."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, BridgeProcess, rows
from tests.otlp_payloads import get


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


def test_seed_reports_an_unreachable_endpoint_clearly() -> None:
    result = _cli(
        "seed", "--endpoint", f"http://127.0.0.1:{_free_port()}", "--protocol", "http/json", timeout=60
    )
    assert result.returncode == 1 and "Error" in result.stderr


def test_lab_up_seed_down_clean(tmp_path: Path) -> None:
    env = {"AGENT_SPEND_LAB_DIR": str(tmp_path / "lab"), "PATH": "/usr/bin:/bin"}
    grpc_port, http_port, pg_port = _free_port(), _free_port(), _free_port()
    try:
        up = _cli(
            "lab",
            "up",
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
            "--pg-port",
            str(pg_port),
            env=env,
        )
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"http://127.0.0.1:{grpc_port}" in up.stdout and "Grafana" in up.stdout
        assert get(f"http://127.0.0.1:{http_port}/readyz") == (200, b"ready\n")
        url = _cli("lab", "database-url", env=env).stdout.strip()
        assert url.endswith(f":{pg_port}/agent_spend")
        seeded = _cli("seed", "--endpoint", f"http://127.0.0.1:{grpc_port}", "--days", "1", "--users", "2")
        assert seeded.returncode == 0, seeded.stderr
        assert rows(url, "SELECT count(*) FROM agent_spend_logs")[0][0] > 0
        # Running `lab up` again is harmless: same processes, same data.
        again = _cli(
            "lab",
            "up",
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
            "--pg-port",
            str(pg_port),
            env=env,
        )
        assert again.returncode == 0, again.stderr
        down = _cli("lab", "down", env=env)
        assert down.returncode == 0 and "stopped bridge" in down.stdout
        assert (tmp_path / "lab" / "postgres" / "pgdata").exists(), "down keeps data"
    finally:
        clean = _cli("lab", "clean", env=env)
    assert clean.returncode == 0 and not (tmp_path / "lab").exists()
