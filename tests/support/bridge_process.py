"""A real `agent-spend serve` subprocess on free ports."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from seeder.send import SendResult
from tests.support.paths import ROOT


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
    """`serve` on free ports; one process (`--workers 1`) unless `extra` asks for workers."""
    workers = () if any(a.startswith("--workers") for a in extra) else ("--workers", "1")
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
            *workers,
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


# -- `serve --workers N`: the worker processes of a bridge, seen through /proc (Linux) --------
def worker_pids(bridge: BridgeProcess) -> list[int]:
    """The supervisor's child processes (its workers), by /proc/<pid>/task/*/children."""
    from pathlib import Path

    children: list[int] = []
    for task in Path(f"/proc/{bridge.process.pid}/task").iterdir():
        with contextlib.suppress(OSError):
            children += [int(p) for p in (task / "children").read_text().split()]
    return sorted(children)


def listening_ports(pid: int) -> set[int]:
    """TCP ports a process holds a listening socket on (its socket fds matched to /proc/net/tcp*)."""
    import os
    from pathlib import Path

    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def metric(text: str, name: str) -> float:
    """One unlabelled sample of a Prometheus text exposition."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


def seed_through_bridge(database_url: str, **seed_options: Any) -> SendResult:
    """`make seed` in a test: the seeder over OTLP/gRPC into a bridge on `database_url`, then stop it."""
    import seeder

    bridge = start_bridge(database_url)
    try:
        return seeder.run_seed(bridge.grpc_url, protocol="grpc", **seed_options)
    finally:
        assert bridge.stop() == 0, "".join(bridge.stderr_lines)
