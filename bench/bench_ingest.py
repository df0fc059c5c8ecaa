"""Ingest throughput by worker count, beside the COPY limit of the same rows, in one run.

Starts an embedded PostgreSQL (durable, like the lab; or uses --database-url, whose role may
create databases), generates seeder-shaped traces once and cuts them into export requests of
--batch-spans spans, serialized once. Then, for each --workers count (1, 2, 4 by default), a
fresh migrated database and `agent-spend serve --workers N` on free loopback ports; --clients
senders post every request (acknowledged = committed) and the run reports spans/s and model
calls/s end to end. Finally the COPY limit: the same rows (the bridge's own map, price and
row code, run here, encoded as the writer encodes them) COPYed in batches of the writer's size
into a table shaped like agent_spend_logs (its columns, defaults and indexes; no triggers),
committed per batch, the best of three rounds, and
the ratio of the best end-to-end rate to it. Each run also reports the CPU seconds per
committed call that the bridge's processes and the PostgreSQL server spent (from /proc, when
the server runs on this machine) and how busy they kept the cores: where the time goes, and
whether a faster end-to-end rate needs less work or more overlap, and how many deadlocks
PostgreSQL broke between writers (each one a batch run again). Not a test: numbers vary
by machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_support import (  # noqa: E402
    Databases,
    bench_server,
    checkpoint,
    machine,
    server_pid,
    start_bridge,
    tree_cpu_seconds,
    wait_ready,
)

from bridge import config  # noqa: E402
from bridge.mapping import map_traces  # noqa: E402
from bridge.pricing.pricer import Pricer  # noqa: E402
from bridge.store.rows import COLUMNS, copy_row, to_row  # noqa: E402
from seeder.generate import generate  # noqa: E402
from seeder.otlp import count_spans, to_otlp_json, to_requests  # noqa: E402
from seeder.send import send  # noqa: E402


def _count(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM agent_spend_logs").fetchone()
    assert row is not None, "count(*) returns one row"
    count: int = row[0]
    return count


@dataclass
class Run:
    """One end-to-end run: what was sent, how long until every export was acknowledged, and
    the CPU seconds the bridge's processes and the PostgreSQL server spent meanwhile."""

    workers: int
    spans: int
    calls: int
    rows: int
    seconds: float
    bridge_cpu: float = 0.0
    database_cpu: float = 0.0
    deadlocks: int = 0

    @property
    def spans_per_second(self) -> float:
        return self.spans / self.seconds

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds

    @property
    def busy(self) -> float:
        """The share of the machine's cores the bridge and PostgreSQL kept busy during the run."""
        return (self.bridge_cpu + self.database_cpu) / (self.seconds * (os.cpu_count() or 1))


def _post_all(address: str, bodies: list[bytes], content_type: str, path: str) -> None:
    """One sender: every body in turn, a new connection each (so the kernel spreads them over
    the workers), retrying 503 like an exporter."""
    host, port = address.rsplit(":", 1)
    for body in bodies:
        for _ in range(50):
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            try:
                conn.request("POST", path, body, {"Content-Type": content_type})
                response = conn.getresponse()
                response.read()
            finally:
                conn.close()
            if response.status == 200:
                break
            if response.status != 503:
                raise RuntimeError(f"export refused: {response.status}")
            time.sleep(0.2)
        else:
            raise RuntimeError("export never acknowledged")


def end_to_end(url: str, workers: int, per_client: list[list[Any]], protocol: str) -> Run:
    checkpoint(url)
    bridge, grpc_addr, http_addr = start_bridge(url, workers)
    try:
        wait_ready(http_addr)
        with psycopg.connect(url) as conn:
            before = _count(conn)
        spans = sum(count_spans(r)[0] for reqs in per_client for r in reqs)
        calls = sum(count_spans(r)[1] for reqs in per_client for r in reqs)
        postmaster = server_pid(url)
        cpu_before = (tree_cpu_seconds(bridge.pid), tree_cpu_seconds(postmaster))
        started = time.perf_counter()
        if protocol == "grpc":
            with ThreadPoolExecutor(len(per_client)) as pool:
                list(pool.map(lambda reqs: send(reqs, f"http://{grpc_addr}", "grpc"), per_client))
        else:
            if protocol == "http/protobuf":
                bodies = [[r.SerializeToString() for r in reqs] for reqs in per_client]
                content_type = "application/x-protobuf"
            else:
                bodies = [[json.dumps(to_otlp_json(r)).encode() for r in reqs] for reqs in per_client]
                content_type = "application/json"
            started = time.perf_counter()  # bodies are serialized before the clock starts
            with ThreadPoolExecutor(len(per_client)) as pool:
                list(pool.map(lambda b: _post_all(http_addr, b, content_type, "/v1/traces"), bodies))
        elapsed = time.perf_counter() - started
        bridge_cpu = tree_cpu_seconds(bridge.pid) - cpu_before[0]
        database_cpu = tree_cpu_seconds(postmaster) - cpu_before[1]
        with psycopg.connect(url) as conn:
            after = _count(conn)
    finally:
        bridge.terminate()
        bridge.wait(180)
    return Run(workers, spans, calls, after - before, elapsed, bridge_cpu, database_cpu, deadlocks(url))


def deadlocks(url: str) -> int:
    """Deadlocks PostgreSQL broke in this (fresh) database: writers aborted and run again (the
    bridge counts them in agent_spend_write_conflicts_total). Read after the bridge stopped, so
    its backends have flushed their statistics."""
    time.sleep(1.5)  # statistics reach the cumulative view within a second of a backend exiting
    with psycopg.connect(url) as conn:
        query = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        row = conn.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def copy_limit(url: str, requests: list[Any], rounds: int = 3) -> tuple[int, float]:
    """COPY the rows the bridge would write for `requests` into a table shaped like
    agent_spend_logs (columns, defaults, identity, indexes; no triggers, no partitions), in batches of
    the writer's size, one commit each, encoded as the writer encodes them: (rows, seconds) of
    the fastest of `rounds` rounds, each into a new table. A limit is a best case: one round
    alone moved by a fifth from run to run here (checkpoints, other load)."""
    pricer = Pricer()
    rows: list[tuple[Any, ...]] = []
    for request in requests:
        for call in map_traces(request).calls:
            if call.identity.team is None:
                call.identity.team = "unknown"  # the writer's COALESCE(s.team, u.team, 'unknown')
            rows.append(copy_row(to_row(call, pricer.price(call))))  # as the writer COPYs it
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS)
    best = float("inf")
    with psycopg.connect(url) as conn:
        for _ in range(rounds):
            conn.execute("DROP TABLE IF EXISTS copy_limit")
            conn.execute(
                "CREATE TABLE copy_limit"
                " (LIKE agent_spend_logs INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)"
            )
            conn.commit()
            checkpoint(url)
            started = time.perf_counter()
            for start in range(0, len(rows), config.MAX_BATCH_ROWS):
                with (
                    conn.cursor() as cur,
                    cur.copy(sql.SQL("COPY copy_limit ({}) FROM STDIN").format(columns)) as copy,
                ):
                    for row in rows[start : start + config.MAX_BATCH_ROWS]:
                        copy.write_row(row)
                conn.commit()
            best = min(best, time.perf_counter() - started)
    return len(rows), best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a server whose role may CREATE DATABASE (default: embedded)")
    parser.add_argument("--days", type=int, default=30, help="synthetic days per client (volume)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch-spans", type=int, default=512, help="spans per export request")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts to run")
    parser.add_argument("--protocol", choices=["grpc", "http/protobuf", "http/json"], default="http/protobuf")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    per_client = [
        to_requests(
            generate(days=args.days, users=args.users, seed=seed, now=now), max_spans=args.batch_spans
        )
        for seed in range(args.clients)
    ]
    print(f"machine: {machine()}")
    print(
        f"protocol={args.protocol} clients={args.clients} batch={args.batch_spans} spans "
        f"requests={sum(len(r) for r in per_client)}"
    )
    with bench_server(args.database_url) as server_url:
        databases = Databases(server_url)
        try:
            runs = []
            for n in counts:
                run = end_to_end(databases.fresh(f"agent_spend_bench_w{n}"), n, per_client, args.protocol)
                runs.append(run)
                print(
                    f"workers={n}: spans={run.spans} model_calls={run.calls} rows_added={run.rows} "
                    f"seconds={run.seconds:.2f} -> {run.spans_per_second:,.0f} spans/s, "
                    f"{run.calls_per_second:,.0f} model calls/s; CPU: bridge {run.bridge_cpu:.1f} s "
                    f"({1e6 * run.bridge_cpu / run.calls:.0f} us/call), PostgreSQL {run.database_cpu:.1f} s "
                    f"({1e6 * run.database_cpu / run.calls:.0f} us/call), "
                    f"{run.busy:.0%} of the cores busy, {run.deadlocks} deadlocks",
                    flush=True,
                )
            copied, copy_seconds = copy_limit(
                databases.fresh("agent_spend_bench_copy"), [r for reqs in per_client for r in reqs]
            )
        finally:
            databases.drop_all()
    copy_rate = copied / copy_seconds
    best = max(runs, key=lambda r: r.calls_per_second)
    print(f"COPY limit (best of 3): {copied} rows in {copy_seconds:.2f}s -> {copy_rate:,.0f} rows/s")
    print()
    columns = ["workers", "spans/s", "model calls/s", "calls/s ÷ COPY rows/s"]
    columns += ["bridge CPU/call", "PostgreSQL CPU/call", "cores busy"]
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        print(
            f"| {run.workers} | {run.spans_per_second:,.0f} | {run.calls_per_second:,.0f} "
            f"| {run.calls_per_second / copy_rate:.2f} | {1e6 * run.bridge_cpu / run.calls:.0f} µs "
            f"| {1e6 * run.database_cpu / run.calls:.0f} µs | {run.busy:.0%} |"
        )
    print(f"| COPY | | {copy_rate:,.0f} rows/s | 1.00 | | | |")
    print(
        f"best: {best.workers} workers, {best.calls_per_second / copy_rate:.2f} of the COPY limit in rows "
        f"({best.spans_per_second / copy_rate:.2f} counting spans against COPY rows, as the issue did)"
    )


if __name__ == "__main__":
    main()
