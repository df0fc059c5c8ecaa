"""Report and API latency at scale: every `agent-spend report` and API endpoint over 90 days.

    .venv/bin/python bench/bench_reports.py --rows 1000000
    .venv/bin/python bench/bench_reports.py --keep --rows 10000000   # reuse bench_dashboards' database

Builds the same database as bench/bench_dashboards.py (bench/dashboard_data.py: N synthetic
calls over 90 days, bulk-loaded, rollups rebuilt; the database `agent_spend_bench`, on the
server of --database-url or an embedded PostgreSQL), or reuses it with --keep. Then times each
report function (bridge/admin/reports.py, what the CLI runs) over the last 90 days, and each
API endpoint through real HTTP (bridge/api/server.py on a loopback port, token, JSON
encoding included): best of --repeat runs after a warm-up. Target: every one well under a
second at 10M calls. Not a test: numbers vary by machine.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_dashboards import DATABASE, database_url, server  # noqa: E402
from dashboard_data import default_end, load  # noqa: E402

from bridge.admin import reports  # noqa: E402
from bridge.admin.report_format import render  # noqa: E402
from bridge.api.server import ApiServer  # noqa: E402
from bridge.store.migrate import migrate  # noqa: E402

TOKEN = "bench-token"


def best_ms(run: Callable[[], Any], repeat: int) -> float:
    run()  # warm-up
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        runs.append((time.perf_counter() - began) * 1000)
    return min(runs)


def report_cases(until: date) -> dict[str, Callable[[psycopg.Connection[Any]], Any]]:
    since = until - timedelta(days=89)
    month = (until.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    team = reports.Filters(team=("payments",))
    return {
        "daily (90 d)": lambda c: reports.daily_report(c, since, until),
        "daily --by team (90 d)": lambda c: reports.daily_report(c, since, until, "team"),
        "daily --by user (90 d)": lambda c: reports.daily_report(c, since, until, "user"),
        "weekly --by model (90 d)": lambda c: reports.weekly_report(c, since, until, "model"),
        "monthly --by team (90 d)": lambda c: reports.monthly_report(c, since, until, "team"),
        "monthly --by user (90 d)": lambda c: reports.monthly_report(c, since, until, "user"),
        "monthly --by repo (90 d)": lambda c: reports.monthly_report(c, since, until, "repo"),
        "monthly --by harness (90 d)": lambda c: reports.monthly_report(c, since, until, "harness"),
        "monthly --by model --team payments (90 d)": lambda c: reports.monthly_report(
            c, since, until, "model", team
        ),
        "sessions (90 d, top 50)": lambda c: reports.sessions_report(c, since, until),
        "sessions --by user (90 d)": lambda c: reports.sessions_report(c, since, until, "user"),
        f"chargeback --by team ({month})": lambda c: reports.chargeback_report(c, month, "team"),
        f"chargeback --by repo ({month})": lambda c: reports.chargeback_report(c, month, "repo"),
    }


def api_cases(until: date) -> dict[str, str]:
    since = until - timedelta(days=89)
    span = f"since={since}&until={until}"
    return {
        "GET /api/v1/summary?period=90d": "/api/v1/summary?period=90d",
        "GET /api/v1/breakdown?by=model&period=90d": "/api/v1/breakdown?by=model&period=90d",
        "GET /api/v1/breakdown?by=user&period=90d": "/api/v1/breakdown?by=user&period=90d",
        "GET /api/v1/breakdown?by=repo&period=90d": "/api/v1/breakdown?by=repo&period=90d",
        "GET /api/v1/reports/daily?by=team (90 d)": f"/api/v1/reports/daily?by=team&{span}",
        "GET /api/v1/reports/monthly?by=team (90 d)": f"/api/v1/reports/monthly?by=team&{span}",
        "GET /api/v1/reports/sessions (90 d)": f"/api/v1/reports/sessions?{span}",
        "GET /api/v1/reports/chargeback?by=repo": "/api/v1/reports/chargeback?by=repo",
        "GET /api/v1/budgets": "/api/v1/budgets",
    }


def _render(case: Callable[[psycopg.Connection[Any]], Any], conn: psycopg.Connection[Any]) -> None:
    render(case(conn), "table")


def time_all(url: str, until: date, repeat: int) -> list[tuple[str, float]]:
    timings = []
    with psycopg.connect(url, options="-c default_transaction_read_only=on") as conn:
        for name, case in report_cases(until).items():
            timings.append((f"report {name}", best_ms(partial(_render, case, conn), repeat)))
            print(f"  {timings[-1][0]}: {timings[-1][1]:.1f} ms", file=sys.stderr)
    api = ApiServer(url, [TOKEN], port=0, threads=2)
    api.start()
    try:
        host, port = api.address
        client = http.client.HTTPConnection(host, port, timeout=60)

        def get(path: str) -> None:
            client.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
            response = client.getresponse()
            response.read()
            assert response.status == 200, (path, response.status)

        for name, path in api_cases(until).items():
            timings.append((f"api {name}", best_ms(partial(get, path), repeat)))
            print(f"  {timings[-1][0]}: {timings[-1][1]:.1f} ms", file=sys.stderr)
        client.close()
    finally:
        api.stop()
    return timings


def report(timings: list[tuple[str, float]], rows: int) -> str:
    width = max(len(n) for n, _ in timings)
    lines = [f"{'query':<{width}}  {'ms':>8}"]
    lines += [f"{n:<{width}}  {ms:8.1f}" for n, ms in timings]
    slowest = max(timings, key=lambda t: t[1])
    lines += ["", f"rows: {rows:,}; slowest: {slowest[0]} {slowest[1]:.1f} ms"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90, help="history the rows are spread over")
    parser.add_argument("--database-url", help="a server to create the bench database on (default: embedded)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query (best is reported)")
    parser.add_argument(
        "--keep", action="store_true", help="reuse a loaded bench database if present, keep it"
    )
    args = parser.parse_args(argv)

    with server(args.database_url) as server_url:
        url = database_url(server_url, DATABASE)
        with psycopg.connect(server_url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
            if exists and not args.keep:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
            if not exists or not args.keep:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        end = default_end()
        if not exists or not args.keep:
            migrate(url)
            print(f"loading {args.rows:,} rows over {args.days} days ...", file=sys.stderr)
            phases = load(url, args.rows, args.days, end, log=lambda m: print(m, file=sys.stderr))
            print("load: " + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()), file=sys.stderr)
        else:
            migrate(url)  # the report functions, if the kept database predates them
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT max(ts) FROM agent_spend_logs").fetchone()
                assert row is not None and row[0] is not None, "--keep needs a loaded database"
                end = row[0]
        with psycopg.connect(url) as conn:
            sizes = conn.execute(
                "SELECT (SELECT count(*) FROM agent_spend_logs), (SELECT count(*) FROM spend_daily), "
                "(SELECT count(*) FROM spend_daily_coarse), (SELECT count(*) FROM session_rollup)"
            ).fetchone()
        print(f"raw rows, daily, daily coarse, sessions: {sizes}", file=sys.stderr)
        timings = time_all(url, end.date(), args.repeat)
        print(report(timings, sizes[0] if sizes else args.rows))
        if not args.keep:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
