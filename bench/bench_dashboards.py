"""Dashboard query latency at scale: every panel of dashboards/*.json against N million calls.

    .venv/bin/python bench/bench_dashboards.py --rows 1000000
    .venv/bin/python bench/bench_dashboards.py --database-url postgresql://u@host/postgres --rows 10000000

Creates its own database (on the server of --database-url, or on an embedded PostgreSQL
in a temporary directory), migrates it, bulk-loads synthetic calls spread over 90 days
(bench/dashboard_data.py) and rebuilds the rollups. Then runs each panel query exactly as
Grafana would send it (tests/support/grafana_sql.py: variables on All, macros expanded; the session
settings of Grafana's login, bridge.admin.reader_role.READER_SETTINGS) for the last 7 and 90
days, best of --repeat runs after a warm-up, and for 90 days also with the rollup-backed
views swapped for raw-table equivalents. Targets: every panel < 100 ms, and
the rollup path >= 20x faster than raw for 90-day ranges. Not a test: numbers vary by
machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from dashboard_data import create_raw_equivalent, default_end, load  # noqa: E402

from bridge.admin.reader_role import READER_SETTINGS  # noqa: E402
from bridge.store.migrate import migrate  # noqa: E402
from tests.support.grafana_sql import ALL, Variable, panel_interval, panel_range, render, sql_targets  # noqa: E402

DATABASE = "agent_spend_bench"
ROLLUP_TABLES = (
    "spend_hourly",
    "spend_daily",
    "spend_daily_coarse",
    "spend_hourly_coarse",
    "spend_daily_user",
    "spend_daily_repo",
    "spend_hourly_team",
    "session_rollup",
)


@dataclass
class Timing:
    panel: str
    ms_7d: float
    ms_90d: float
    raw_ms_90d: float | None  # None: no rollup read, or not range-dependent: nothing to compare

    @property
    def speedup(self) -> float | None:
        return self.raw_ms_90d / self.ms_90d if self.raw_ms_90d and self.ms_90d else None


@contextmanager
def server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bridge.lab.embedded_db import EmbeddedPostgres
    directory = Path(tempfile.mkdtemp(prefix="agent-spend-bench-pg-"))
    embedded = EmbeddedPostgres(directory).start()
    try:
        yield embedded.url()
    finally:
        embedded.stop()
        shutil.rmtree(directory, ignore_errors=True)


def database_url(server_url: str, name: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(server_url)
    params["dbname"] = name
    return make_conninfo("", **params)


def all_variables(dashboard: dict[str, Any], conn: psycopg.Connection[Any], start: datetime, end: datetime
                  ) -> tuple[dict[str, Variable], list[tuple[str, float]]]:  # fmt: skip
    """Variables on All (the first option where there is no All); the variable queries' timings."""
    resolved: dict[str, Variable] = {}
    timings = []
    for spec in dashboard["templating"]["list"]:
        if spec["type"] != "query":
            resolved[spec["name"]] = Variable(spec["name"], "")
            continue
        query = render(spec["query"], start, end, resolved)
        began = time.perf_counter()
        options = [str(r[0]) for r in conn.execute(query).fetchall()]
        timings.append((f"variable {spec['name']}", (time.perf_counter() - began) * 1000))
        current = ALL if spec["includeAll"] else (options[0] if options else "")
        resolved[spec["name"]] = Variable(spec["name"], current, spec["multi"], spec["includeAll"],
                                          spec.get("allValue"), options)  # fmt: skip
    return resolved, timings


def best_ms(conn: psycopg.Connection[Any], query: str, repeat: int) -> float:
    conn.execute(query).fetchall()  # warm-up
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        conn.execute(query).fetchall()
        runs.append((time.perf_counter() - began) * 1000)
    return min(runs)


def reads_rollups(conn: psycopg.Connection[Any], query: str) -> bool:
    plan = json.dumps(conn.execute(f"EXPLAIN (FORMAT JSON) {query}").fetchone())
    return any(f'"{table}"' in plan for table in ROLLUP_TABLES[:-1])


def time_panels(url: str, end: datetime, repeat: int, only: str = "", raw: bool = True) -> list[Timing]:
    dashboards = [json.loads(p.read_text()) for p in sorted((ROOT / "dashboards").glob("*.json"))]
    timings: list[Timing] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = '300s'")
        for name, value in READER_SETTINGS.items():  # what Grafana's login runs with
            conn.execute(sql.SQL("SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
        for dashboard in dashboards:
            ranges = {days: (end - timedelta(days=days), end) for days in (7, 90)}
            variables = {}
            for days, (start, stop) in ranges.items():
                variables[days], var_timings = all_variables(dashboard, conn, start, stop)
                if days == 90:
                    timings += [Timing(f"{dashboard['uid']} / {n}", 0.0, ms, None) for n, ms in var_timings]
            for panel, target in sql_targets(dashboard):
                if only.lower() not in panel["title"].lower():
                    continue
                queries = {}
                for days, (start, stop) in ranges.items():
                    start, stop = panel_range(panel, start, stop)
                    interval = panel_interval(start, stop, min_interval=panel.get("interval"))
                    queries[days] = render(target["rawSql"], start, stop, variables[days], interval)
                ms = {days: best_ms(conn, q, repeat) for days, q in queries.items()}
                raw_ms = None
                if raw and queries[7] != queries[90] and reads_rollups(conn, queries[90]):
                    conn.execute("SET search_path = raw_equivalent, public")
                    raw_ms = best_ms(conn, queries[90], 1)
                    conn.execute("RESET search_path")
                timings.append(Timing(f"{dashboard['uid']} / {panel['title']}", ms[7], ms[90], raw_ms))
                print(f"  {timings[-1].panel}: {ms[7]:.1f} / {ms[90]:.1f} ms", file=sys.stderr)
    return timings


def report(timings: list[Timing], rows: int) -> str:
    width = max(len(t.panel) for t in timings)
    lines = [f"{'panel':<{width}}  {'ms 7d':>8}  {'ms 90d':>8}  {'raw ms 90d':>10}  {'speedup':>8}"]
    for t in timings:
        raw = f"{t.raw_ms_90d:10.1f}" if t.raw_ms_90d is not None else f"{'-':>10}"
        speed = f"{t.speedup:7.0f}x" if t.speedup else f"{'-':>8}"
        seven = f"{t.ms_7d:8.1f}" if t.ms_7d else f"{'-':>8}"
        lines.append(f"{t.panel:<{width}}  {seven}  {t.ms_90d:8.1f}  {raw}  {speed}")
    panels = [t for t in timings if " / variable " not in t.panel]
    slow = [t.panel for t in timings if max(t.ms_7d, t.ms_90d) >= 100]
    speedups = [t.speedup for t in panels if t.speedup]
    lines += [
        "",
        f"rows: {rows:,}; panels: {len(panels)}; variable queries: {len(timings) - len(panels)}",
        f"slowest 7d: {max(t.ms_7d for t in panels):.1f} ms; "
        f"slowest 90d: {max(t.ms_90d for t in panels):.1f} ms; "
        f"median 90d: {statistics.median(t.ms_90d for t in panels):.1f} ms",
        f">= 100 ms: {len(slow)} {slow}",
    ]
    if speedups:
        lines.append(
            f"rollup vs raw at 90 d ({len(speedups)} panels): min {min(speedups):.0f}x, "
            f"median {statistics.median(speedups):.0f}x; below 20x: "
            f"{[t.panel for t in panels if t.speedup and t.speedup < 20]}"
        )
    return "\n".join(lines)


DISK_QUERY = """
    WITH parts AS (
        SELECT sum(pg_total_relation_size(relid)) AS bytes
        FROM pg_partition_tree('agent_spend_logs') WHERE isleaf
    ), rollups AS (
        SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c
        WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
          AND (c.relname LIKE 'spend\\_%' OR c.relname LIKE 'session\\_%')
    )
    SELECT (SELECT bytes FROM parts), pg_total_relation_size('call_keys'),
           (SELECT bytes FROM rollups), pg_database_size(current_database()),
           (SELECT count(*) FROM agent_spend_logs)
"""


def disk_report(url: str) -> str:
    """Disk used by the raw calls (every partition with its indexes), call_keys and the rollups."""
    with psycopg.connect(url) as conn:
        row = conn.execute(DISK_QUERY).fetchone()
    assert row is not None
    raw, keys, rollups, total = (int(v or 0) for v in row[:4])
    calls = int(row[4])
    mib = 1024 * 1024
    per_10m = 10_000_000 / max(calls, 1)
    return (
        f"disk: raw calls {raw / mib:,.0f} MiB, call_keys {keys / mib:,.0f} MiB, "
        f"rollups {rollups / mib:,.0f} MiB, "
        f"database {total / mib:,.0f} MiB for {calls:,} calls "
        f"(per 10 M calls: raw + keys {(raw + keys) * per_10m / mib:,.0f} MiB)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90, help="history the rows are spread over")
    parser.add_argument("--database-url", help="a server to create the bench database on (default: embedded)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query (best is reported)")
    parser.add_argument(
        "--keep", action="store_true", help="reuse a loaded bench database if present, keep it"
    )
    parser.add_argument("--only", default="", help="time only panels whose title contains this text")
    parser.add_argument("--no-raw", action="store_true", help="skip the (slow) raw-table comparison")
    parser.add_argument(
        "--retention-days",
        type=int,
        default=0,
        help="then drop this many of the oldest days with retention and time it (bench_retention.py)",
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
            migrate(url)  # the kept data under the current schema objects (a changed view is timed)
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT max(ts) FROM agent_spend_logs").fetchone()
                assert row is not None and row[0] is not None, "--keep needs a loaded database"
                end = row[0]
        create_raw_equivalent(url)
        with psycopg.connect(url) as conn:
            sizes = conn.execute(
                "SELECT (SELECT count(*) FROM agent_spend_logs), (SELECT count(*) FROM spend_hourly), "
                "(SELECT count(*) FROM spend_daily), (SELECT count(*) FROM spend_daily_coarse), "
                "(SELECT count(*) FROM session_rollup)"
            ).fetchone()
        print(f"raw rows, hourly, daily, daily coarse, sessions: {sizes}", file=sys.stderr)
        print(disk_report(url))
        timings = time_panels(url, end, args.repeat, args.only, raw=not args.no_raw)
        print(report(timings, args.rows))
        if args.retention_days:
            from bench_retention import measure_retention

            for name, value in measure_retention(url, args.retention_days).items():
                print(f"retention {name}: {value}")
        if not args.keep:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
