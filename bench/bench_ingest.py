"""Ingest throughput: seeder-shaped OTLP requests → a real bridge → committed rows per second.

Starts an embedded PostgreSQL (or uses --database-url) and `agent-spend serve` on free
loopback ports, sends a bounded number of requests from a few concurrent clients, and
prints spans/s end to end (acknowledged = committed). Not a test: numbers vary by machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seeder.generate import generate  # noqa: E402
from seeder.otlp import to_requests  # noqa: E402
from seeder.send import send  # noqa: E402


def start_bridge(url: str) -> tuple[subprocess.Popen[str], str, str]:
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


def _count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM agent_spend_logs").fetchone()
    assert row is not None, "count(*) returns one row"
    count: int = row[0]
    return count


@contextmanager
def bench_database(url: str | None, prefix: str = "agent-spend-bench-") -> Iterator[str]:
    """A migrated database: `url` as given, or a durable embedded PostgreSQL in a temporary
    directory (like the lab), stopped and deleted on the way out, Ctrl-C included."""
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
        subprocess.run(
            [sys.executable, "-m", "bridge", "migrate", "--database-url", url],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        yield url
    finally:
        if server is not None:
            try:
                server.stop()
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:  # e.g. stopped by Ctrl-C
                print(f"stopping PostgreSQL: {exc}", file=sys.stderr)
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--days", type=int, default=30, help="synthetic days per client (volume)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--protocol", choices=["grpc", "http/protobuf", "http/json"], default="grpc")
    args = parser.parse_args()

    with bench_database(args.database_url) as url:
        with psycopg.connect(url) as conn:
            before = _count(conn)
        bridge, grpc_addr, http_addr = start_bridge(url)
        try:
            now = datetime.now(UTC).replace(second=0, microsecond=0)
            batches = [
                to_requests(generate(days=args.days, users=args.users, seed=seed, now=now))
                for seed in range(args.clients)
            ]
            endpoint = f"http://{grpc_addr}" if args.protocol == "grpc" else f"http://{http_addr}"
            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                results = list(pool.map(lambda reqs: send(reqs, endpoint, args.protocol), batches))
            elapsed = time.perf_counter() - started
            with psycopg.connect(url) as conn:
                after = _count(conn)
            spans = sum(r.spans_sent for r in results)
            calls = sum(r.model_calls for r in results)
            print(
                f"protocol={args.protocol} clients={args.clients} requests={sum(r.requests for r in results)}"
            )
            print(f"spans={spans} model_calls={calls} rows_added={after - before} seconds={elapsed:.2f}")
            print(
                f"throughput: {spans / elapsed:,.0f} spans/s, {calls / elapsed:,.0f} committed model calls/s"
            )
        finally:
            bridge.terminate()
            bridge.wait(60)


if __name__ == "__main__":
    main()
