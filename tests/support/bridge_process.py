"""A real `agent-spend serve` subprocess on free ports."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from dataclasses import dataclass

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
