"""Shared by the rollup tests: inserting calls like the writer does, and an independent oracle.

The oracle recomputes every rollup in Python from the raw rows (plus the rows a test
pruned with retention), so the tests check the SQL formulas themselves, not only that the
triggers agree with the SQL used by `verify`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bridge.admin.rollups import verify
from tests.support.paths import ROOT

BASE = datetime(2025, 6, 15, tzinfo=UTC)

DEFAULTS: dict[str, Any] = {
    "source": "test",
    "signal": "trace",
    "model": "claude-sonnet-4-5",
    "user_id": "ana@example.com",
    "team": "payments",
    "provider": "anthropic",
    "harness_name": "claude-code",
    "session_id": None,
    "workspace_repo": None,
    "workspace_branch": None,
    "environment": "prod",
    "cost_estimation": "metered",
    "workspace_is_ci": False,
    "status": "ok",
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "reasoning_tokens": 0,
    "total_cost_usd": None,
    "list_cost_usd": None,
    "reported_cost_usd": None,
}
INSERT_COLUMNS = ("dedup_key", "ts", *DEFAULTS)
DIMENSIONS = (
    "user_id",
    "team",
    "model",
    "provider",
    "harness_name",
    "workspace_repo",
    "workspace_branch",
    "environment",
    "cost_estimation",
    "workspace_is_ci",
)
SPEND_MEASURES = (
    "calls",
    "error_calls",
    "unpriced_calls",
    "long_context_calls",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "list_cost_usd",
    "reported_cost_usd",
)
SESSION_COLUMNS = (
    "user_id",
    "team",
    "harness_name",
    "workspace_repo",
    "first_ts",
    "last_ts",
    "calls",
    "error_calls",
    "unpriced_calls",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
)
# spend_daily_coarse (0005): spend_daily without these three dimensions.
COARSE_DROPPED = ("user_id", "workspace_repo", "workspace_branch")
COARSE_DIMENSIONS = tuple(d for d in DIMENSIONS if d not in COARSE_DROPPED)
# The dimension rollups (0006, 0007): (fine table they re-aggregate, their dimensions in table order).
DIMENSION_ROLLUPS = {
    "spend_hourly_coarse": ("spend_hourly", ("team", "model", "harness_name", "environment")),
    "spend_daily_user": ("spend_daily", ("user_id", "team", "model", "environment", "workspace_is_ci")),
    "spend_daily_repo": (
        "spend_daily",
        ("workspace_repo", "workspace_branch", "workspace_is_ci", "team", "environment", "user_id"),
    ),
    # 0007
    "spend_hourly_team": ("spend_hourly", ("team", "environment")),
}
ROLLUP_TABLES = (
    "spend_hourly",
    "spend_daily",
    "spend_daily_coarse",
    *DIMENSION_ROLLUPS,
    "session_rollup",
    "session_archive",
    "retention_state",
)

Rollups = dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]


def call(dedup_key: str, ts: datetime, **overrides: Any) -> dict[str, Any]:
    unknown = set(overrides) - set(DEFAULTS)
    assert not unknown, f"unknown columns {unknown}"
    return {"dedup_key": dedup_key, "ts": ts, **DEFAULTS, **overrides}


def insert_calls(conn: psycopg.Connection[Any], calls: list[dict[str, Any]]) -> int:
    """Like the writer: claim the keys in call_keys, then insert the first copy of each call
    whose key was claimed (a replay, or a copy at another ts, adds nothing); returns rows inserted.
    On a database of a release before 0012 (no call_keys), an INSERT ... ON CONFLICT DO NOTHING."""
    if not calls:
        return 0
    if conn.execute("SELECT to_regclass('call_keys') IS NULL").fetchone() == (True,):
        return _insert(conn, calls, "ON CONFLICT DO NOTHING")
    claimed = {
        key
        for (key,) in conn.execute(
            "INSERT INTO call_keys (dedup_key, ts) SELECT k, t FROM unnest(%s::text[], %s::timestamptz[])"
            " WITH ORDINALITY AS c (k, t, n) ORDER BY n"
            " ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key",
            ([c["dedup_key"] for c in calls], [c["ts"] for c in calls]),
        ).fetchall()
    }
    firsts: dict[str, dict[str, Any]] = {}
    for c in calls:
        if c["dedup_key"] in claimed:
            firsts.setdefault(c["dedup_key"], c)
    if not firsts:
        return 0
    return _insert(conn, list(firsts.values()))


def _insert(conn: psycopg.Connection[Any], calls: list[dict[str, Any]], tail: str = "") -> int:
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(INSERT_COLUMNS)) + ")"] * len(calls))
    params = [c[col] for c in calls for col in INSERT_COLUMNS]
    cur = conn.execute(
        f"INSERT INTO agent_spend_logs ({', '.join(INSERT_COLUMNS)}) VALUES {placeholders} {tail}",
        params,
    )
    return cur.rowcount


def raw_rows(conn: psycopg.Connection[Any], where: str = "true", params: tuple[Any, ...] = ()) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(f"SELECT * FROM agent_spend_logs WHERE {where}", params).fetchall()


def _bucket(ts: datetime, grain: str) -> datetime:
    ts = ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return ts.replace(hour=0) if grain == "day" else ts


def _known(values: Iterable[str]) -> str:
    known = [v for v in values if v != "unknown"]
    return max(known) if known else "unknown"


def expected_rollups(rows: Iterable[dict[str, Any]]) -> Rollups:
    """What every rollup must contain for these calls, computed without any SQL."""
    result: Rollups = {}
    rows = list(rows)
    for table, grain in (("spend_hourly", "hour"), ("spend_daily", "day")):
        sums: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0] * len(SPEND_MEASURES))
        for r in rows:
            key = (_bucket(r["ts"], grain), *((r[d] if r[d] is not None else "") for d in DIMENSIONS))
            context = r["input_tokens"] + r["cache_read_tokens"] + r["cache_write_tokens"]
            deltas = (
                1,
                r["status"] == "error",
                r["total_cost_usd"] is None,
                context > 200_000,
                r["input_tokens"],
                r["output_tokens"],
                r["cache_read_tokens"],
                r["cache_write_tokens"],
                r["reasoning_tokens"],
                r["total_cost_usd"] or Decimal(0),
                r["list_cost_usd"] or Decimal(0),
                r["reported_cost_usd"] or Decimal(0),
            )
            sums[key] = [
                a + int(b) if isinstance(b, bool) else a + b for a, b in zip(sums[key], deltas, strict=True)
            ]
        result[table] = {k: tuple(v) for k, v in sums.items()}
    coarse: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0] * len(SPEND_MEASURES))
    keep = [i + 1 for i, d in enumerate(DIMENSIONS) if d not in COARSE_DROPPED]
    for key, values in result["spend_daily"].items():
        coarse_key = (key[0], *(key[i] for i in keep))
        coarse[coarse_key] = [a + b for a, b in zip(coarse[coarse_key], values, strict=True)]
    result["spend_daily_coarse"] = {k: tuple(v) for k, v in coarse.items()}
    for table, (fine, dimensions) in DIMENSION_ROLLUPS.items():
        projected: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0] * len(SPEND_MEASURES))
        positions = [DIMENSIONS.index(d) + 1 for d in dimensions]
        for key, values in result[fine].items():
            projected_key = (key[0], *(key[i] for i in positions))
            projected[projected_key] = [a + b for a, b in zip(projected[projected_key], values, strict=True)]
        result[table] = {k: tuple(v) for k, v in projected.items()}
    sessions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["session_id"] is not None:
            sessions[r["session_id"]].append(r)
    result["session_rollup"] = {
        (sid,): (
            _known(r["user_id"] for r in calls),
            _known(r["team"] for r in calls),
            _known(r["harness_name"] for r in calls),
            max(r["workspace_repo"] or "" for r in calls),
            min(r["ts"] for r in calls),
            max(r["ts"] for r in calls),
            len(calls),
            sum(r["status"] == "error" for r in calls),
            sum(r["total_cost_usd"] is None for r in calls),
            sum(r["input_tokens"] for r in calls),
            sum(r["output_tokens"] for r in calls),
            sum(r["cache_read_tokens"] for r in calls),
            sum(r["cache_write_tokens"] for r in calls),
            sum((r["total_cost_usd"] or Decimal(0) for r in calls), Decimal(0)),
        )
        for sid, calls in sessions.items()
    }
    return result


def stored_rollups(conn: psycopg.Connection[Any]) -> Rollups:
    result: Rollups = {}
    with conn.cursor(row_factory=dict_row) as cur:
        for table in ("spend_hourly", "spend_daily"):
            result[table] = {
                (r["bucket"], *(r[d] for d in DIMENSIONS)): tuple(r[m] for m in SPEND_MEASURES)
                for r in cur.execute(f"SELECT * FROM {table}")
            }
        result["spend_daily_coarse"] = {
            (r["bucket"], *(r[d] for d in COARSE_DIMENSIONS)): tuple(r[m] for m in SPEND_MEASURES)
            for r in cur.execute("SELECT * FROM spend_daily_coarse")
        }
        for table, (_, dimensions) in DIMENSION_ROLLUPS.items():
            result[table] = {
                (r["bucket"], *(r[d] for d in dimensions)): tuple(r[m] for m in SPEND_MEASURES)
                for r in cur.execute(f"SELECT * FROM {table}")
            }
        result["session_rollup"] = {
            (r["session_id"],): tuple(r[c] for c in SESSION_COLUMNS)
            for r in cur.execute("SELECT * FROM session_rollup")
        }
    return result


def assert_rollups_exact(conn: psycopg.Connection[Any], pruned: Iterable[dict[str, Any]] = ()) -> None:
    """Rollups equal the oracle over raw rows plus pruned ones, and `verify` agrees."""
    expected = expected_rollups([*raw_rows(conn), *pruned])
    stored = stored_rollups(conn)
    for table in expected:
        assert stored[table] == expected[table], f"{table} differs from the oracle"
    conn.commit()  # verify needs an idle connection
    differences = verify(conn).differences
    assert differences == [], "\n".join(d.describe() for d in differences)


def reset(conn: psycopg.Connection[Any]) -> None:
    """Empty raw rows and rollups without firing triggers (TRUNCATE bypasses them)."""
    conn.execute(f"TRUNCATE agent_spend_logs, call_keys, {', '.join(ROLLUP_TABLES)}")


# -- random calls and filters over a small dimension space (0005-0007 tests) --------------

USERS = ["ana", "bo", "cy", "unknown"]
TEAMS = ["payments", "search", "unknown"]
MODELS = ["m1", "m2", "m3"]
HARNESSES = ["claude-code", "codex"]
REPOS = [None, "r1", "r2"]
ENVIRONMENTS = ["prod", "staging"]
ALL = ["__all"]
FILTER_NAMES = ("environment", "team", "user", "model", "harness", "repository")


def random_calls(rng: random.Random, n: int, prefix: str = "k") -> list[dict[str, Any]]:
    return [
        call(
            f"{prefix}{i}",
            BASE + timedelta(seconds=rng.uniform(-5 * 86400, 2 * 86400)),
            user_id=rng.choice(USERS),
            team=rng.choice(TEAMS),
            model=rng.choice(MODELS),
            harness_name=rng.choice(HARNESSES),
            workspace_repo=rng.choice(REPOS),
            workspace_branch=rng.choice([None, "main", "feat"]),
            environment=rng.choice(ENVIRONMENTS),
            cost_estimation=rng.choice(["metered", "subscription"]),
            workspace_is_ci=rng.random() < 0.2,
            status="error" if rng.random() < 0.1 else "ok",
            input_tokens=rng.randint(0, 150_000),
            output_tokens=rng.randint(0, 500),
            cache_read_tokens=rng.randint(0, 80_000),
            reasoning_tokens=rng.randint(0, 9),
            total_cost_usd=None if rng.random() < 0.1 else Decimal(rng.randint(0, 10_000)) / 1000,
            list_cost_usd=Decimal(rng.randint(0, 10_000)) / 1000,
            reported_cost_usd=None if rng.random() < 0.5 else Decimal(rng.randint(0, 100)) / 100,
        )
        for i in range(n)
    ]


def random_filters(rng: random.Random) -> dict[str, list[str]]:
    choices = {
        "environment": ENVIRONMENTS,
        "team": TEAMS,
        "user": USERS,
        "model": MODELS,
        "harness": HARNESSES,
        "repository": ["(none)", "r1", "r2"],
    }
    return {
        name: ALL if rng.random() < 0.6 else rng.sample(values, rng.randint(1, 2))
        for name, values in choices.items()
    }


def explain_plan(conn: psycopg.Connection[Any], query: str) -> str:
    return "\n".join(r[0] for r in conn.execute(f"EXPLAIN {query}").fetchall())  # type: ignore[arg-type]


def reference_function(conn: psycopg.Connection[Any], function: str) -> str:
    """The oracle tests/reference/ref_<function>.sql (0004's definition over spend_filtered only)."""
    conn.execute((ROOT / "tests" / "reference" / f"ref_{function}.sql").read_text())  # type: ignore[arg-type]
    return f"pg_temp.ref_{function}"
