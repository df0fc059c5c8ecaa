"""Partitioned retention: the time to drop the oldest N days of a loaded history.

    .venv/bin/python bench/bench_retention.py --rows 1000000 --days 90 --drop-days 30
    .venv/bin/python bench/bench_retention.py --database-url postgresql://u@host/postgres --rows 10000000

Loads `--rows` calls over `--days` (bench/dashboard_data.py, one partition per day), then runs
`apply_retention` with the horizon `--drop-days` after the first day: the day partitions
before it are detached, their sessions archived and dropped; then the call_keys older than
the horizon minus spend_key_grace() are deleted in batches. Reports each phase, and checks
that the rollups did not change and `spend_rollup_verify()` is clean.
`bench_dashboards.py --retention-days 30` runs the same measurement after its panels.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge.admin.retention import apply_retention

DATABASE = "agent_spend_bench_retention"
ROLLUPS = ("spend_hourly", "spend_daily", "spend_daily_coarse", "session_rollup")


def _fingerprint(conn: psycopg.Connection[Any]) -> list[Any]:
    out: list[Any] = []
    for table in ROLLUPS:
        query = sql.SQL("SELECT count(*), sum(calls), sum(cost_usd) FROM {}").format(sql.Identifier(table))
        out.append(conn.execute(query).fetchone())
    return out


def measure_retention(url: str, drop_days: int) -> dict[str, float | int]:
    """Drop the first `drop_days` days of the loaded history; seconds and counts per phase."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT min(ts), count(*) FROM agent_spend_logs").fetchone()
        assert row is not None and row[0] is not None, "load a history first"
        first: datetime = row[0]
        horizon = first + timedelta(days=drop_days)
        before = _fingerprint(conn)
        keys_before = conn.execute("SELECT count(*) FROM call_keys").fetchone()
        partitions: list[float] = []
        last = [time.perf_counter()]

        def lap(name: str, rows: int) -> None:
            now = time.perf_counter()
            partitions.append(now - last[0])
            last[0] = now

        started = time.perf_counter()
        result = apply_retention(conn, horizon, on_partition=lap)
        total = time.perf_counter() - started
        after = _fingerprint(conn)
        assert after == before, "retention changed a rollup"
        conn.execute("SET work_mem = '256MB'")
        differences = conn.execute("SELECT count(*) FROM spend_rollup_verify()").fetchone()
        keys_after = conn.execute("SELECT count(*) FROM call_keys").fetchone()
    dropped_phase = sum(partitions)
    return {
        "rows before": int(row[1]),
        "partitions dropped": result.partitions,
        "rows dropped": result.deleted,
        "seconds total": round(total, 2),
        "seconds dropping partitions": round(dropped_phase, 2),
        "slowest partition s": round(max(partitions, default=0.0), 3),
        "seconds delete + key prune": round(total - dropped_phase, 2),
        "keys pruned": result.keys_pruned,
        "call_keys before": int(keys_before[0]) if keys_before else 0,
        "call_keys after": int(keys_after[0]) if keys_after else 0,
        "verify differences": int(differences[0]) if differences else -1,
    }


def main(argv: list[str] | None = None) -> int:
    from bench_dashboards import database_url, server
    from dashboard_data import default_end, load

    from bridge.store.migrate import migrate

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90, help="history the rows are spread over")
    parser.add_argument("--drop-days", type=int, default=30, help="oldest days to drop")
    parser.add_argument("--database-url", help="a server to create the bench database on (default: embedded)")
    args = parser.parse_args(argv)
    with server(args.database_url) as server_url:
        url = database_url(server_url, DATABASE)
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        try:
            migrate(url)
            print(f"loading {args.rows:,} rows over {args.days} days ...", file=sys.stderr)
            phases = load(url, args.rows, args.days, default_end(), log=lambda m: print(m, file=sys.stderr))
            print("load: " + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()), file=sys.stderr)
            for name, value in measure_retention(url, args.drop_days).items():
                print(f"{name}: {value}")
        finally:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
