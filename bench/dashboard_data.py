"""Synthetic history for bench_dashboards.py: millions of model calls, shaped like an org.

Calls are spread over `days` with a working-hours curve and arrive in time order (as a
live bridge writes them). Each developer has a home team, two repositories, a harness and
two favourite models, so the rollups compress the way real data does; a uniform random
mix of every dimension would make each call its own rollup row and prove nothing.

Loading creates the day partitions of the history first, bypasses the ingest triggers and
the secondary indexes (rebuilt afterwards), fills call_keys in one pass, then rebuilds the
rollups with 0003's spend_rollup_rebuild(): the same result as row-by-row ingest, minutes
faster.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

# model -> (provider, $/M input, output, cache read, cache write)
MODELS: dict[str, tuple[str, float, float, float, float]] = {
    "claude-sonnet-4-5": ("anthropic", 3.0, 15.0, 0.30, 3.75),
    "claude-opus-4-1": ("anthropic", 15.0, 75.0, 1.50, 18.75),
    "claude-haiku-4-5": ("anthropic", 1.0, 5.0, 0.10, 1.25),
    "gpt-5": ("openai", 1.25, 10.0, 0.125, 0.0),
    "gpt-5-mini": ("openai", 0.25, 2.0, 0.025, 0.0),
    "gpt-4.1": ("openai", 2.0, 8.0, 0.50, 0.0),
    "gemini-2.5-pro": ("gcp.gemini", 1.25, 10.0, 0.125, 0.0),
    "gemini-2.5-flash": ("gcp.gemini", 0.30, 2.5, 0.03, 0.0),
}
HARNESSES = ("claude-code", "codex", "gemini-cli", "copilot", "pi", "custom-sdk")
BRANCHES = ("main", "feat/a", "feat/b", "fix/c")
COLUMNS = (
    "dedup_key", "ts", "ingest_ts", "source", "signal", "user_id", "team", "session_id", "workspace_repo",
    "workspace_branch", "workspace_is_ci", "environment", "provider", "model", "harness_name", "input_tokens",
    "output_tokens", "cache_read_tokens", "cache_write_tokens", "input_cost_usd", "output_cost_usd",
    "cache_read_cost_usd", "cache_write_cost_usd", "total_cost_usd", "list_cost_usd", "cost_estimation",
    "cost_source", "status", "duration_ms",
)  # fmt: skip


@dataclass
class Developer:
    user_id: str
    team: str
    utc_offset: float  # hours; working hours are 09-18 local, Monday to Friday
    repos: tuple[str, str]
    harness: str
    models: tuple[str, str]
    environment: str
    subscription: bool
    weight: float
    is_ci: bool = False
    branch: str = "main"  # what the developer is working on; changes now and then
    session: tuple[str, str, str, str] = ("", "", "", "")  # id, repository, branch, model
    left_in_session: int = 0

    def active(self, moment: datetime) -> bool:
        if self.is_ci:
            return True
        local = moment + timedelta(hours=self.utc_offset)
        return local.weekday() < 5 and 9 <= local.hour < 18


def _pair(items: list[str]) -> tuple[str, str]:
    first, second = items
    return first, second


def _org(users: int, rng: random.Random) -> list[Developer]:
    teams = [f"team-{i:02d}" for i in range(max(3, users // 35))]
    offsets = {t: rng.choice((-8.0, -5.0, 0.0, 1.0, 5.5, 8.0)) for t in teams}
    repos = {t: [f"github.com/acme/{t}-svc{j}" for j in range(4)] for t in teams}
    people = []
    for i in range(users):
        team = rng.choice(teams)
        people.append(
            Developer(f"dev{i:05d}@example.com", team, offsets[team], _pair(rng.sample(repos[team], 2)),
                      rng.choice(HARNESSES), _pair(rng.sample(sorted(MODELS), 2)),
                      "staging" if rng.random() < 0.1 else "production", rng.random() < 0.15,
                      rng.uniform(0.2, 3.0))
        )  # fmt: skip
    for team in teams[:3]:
        ci_models = ("claude-haiku-4-5", "gpt-5-mini")
        people.append(Developer(f"ci-{team}@example.com", team, 0.0, (repos[team][0],) * 2,
                                "custom-sdk", ci_models, "ci", False, 0.5, is_ci=True))  # fmt: skip
    return people


def _usd(tokens: int, per_million: float) -> Decimal:
    return (Decimal(tokens) * Decimal(str(per_million)) / 1_000_000).quantize(Decimal("1e-10"))


def _hours(
    people: list[Developer], count: int, start: datetime, hours: int
) -> list[tuple[datetime, list[Developer], list[float], int]]:
    """Per hour of the span: who works then, their weights, and how many calls fall in it."""
    plan = []
    for h in range(hours):
        moment = start + timedelta(hours=h)
        active = [p for p in people if p.active(moment)]
        plan.append((moment, active, [p.weight for p in active], sum(p.weight for p in active)))
    total = sum(p[3] for p in plan)
    counts = [int(count * p[3] / total) for p in plan]
    counts[-1] += count - sum(counts)
    return [(m, a, w, n) for (m, a, w, _), n in zip(plan, counts, strict=True)]


def rows(count: int, days: int, end: datetime, seed: int = 1) -> Iterator[tuple[Any, ...]]:
    """`count` calls in the `days` before `end`, oldest first, on the teams' working hours."""
    rng = random.Random(seed)
    people = _org(max(50, min(2000, count // 25_000)), rng)
    start = (end - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    n = 0
    for moment, active, weights, calls in _hours(people, count, start, days * 24):
        if not active or not calls:
            continue
        offsets = sorted(rng.uniform(0, 3600) for _ in range(calls))
        for dev, offset in zip(rng.choices(active, weights, k=calls), offsets, strict=True):
            ts = min(moment + timedelta(seconds=offset), end)
            if dev.left_in_session <= 0:
                session_id = str(uuid.UUID(int=rng.getrandbits(128)))
                if rng.random() < 0.2:
                    dev.branch = BRANCHES[rng.randrange(4)]
                dev.session = (
                    session_id,
                    dev.repos[rng.random() < 0.3],
                    dev.branch,
                    dev.models[rng.random() < 0.2],
                )
                dev.left_in_session = rng.randint(5, 60)
            dev.left_in_session -= 1
            session_id, repo, branch, model = dev.session
            if rng.random() < 0.1:
                model = dev.models[0] if model == dev.models[1] else dev.models[1]  # a sub-agent call
            provider, p_in, p_out, p_read, p_write = MODELS[model]
            fresh, output = rng.randint(200, 8000), rng.randint(50, 2500)
            read = rng.randint(5_000, 260_000) if rng.random() < 0.85 else 0
            write = rng.randint(0, 6000) if p_write else 0
            costs = (_usd(fresh, p_in), _usd(output, p_out), _usd(read, p_read), _usd(write, p_write))
            listed = sum(costs, Decimal(0))
            paid = not dev.subscription
            n += 1
            yield (
                f"bench-{n}", ts, ts + timedelta(seconds=rng.uniform(0.5, 30)), "otel-genai", "trace",
                dev.user_id, dev.team, session_id, repo, branch, dev.is_ci, dev.environment, provider, model,
                dev.harness, fresh, output, read, write, *(c if paid else Decimal(0) for c in costs),
                listed if paid else Decimal(0), listed, "metered" if paid else "subscription", "list_price",
                "error" if rng.random() < 0.01 else "ok", rng.uniform(800, 40_000),
            )  # fmt: skip


def load(url: str, count: int, days: int, end: datetime, log: Any = print) -> dict[str, float]:
    """Bulk-load `count` calls into a migrated database; seconds per phase."""
    timings: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = conn.execute(
            """SELECT c.relname, pg_get_indexdef(i.indexrelid)
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE i.indrelid = 'agent_spend_logs'::regclass
                 AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)"""
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        # One partition per day of the history (migration 0012), so nothing lands in the default.
        first = (end - timedelta(days=days + 1)).date()
        conn.execute("SELECT spend_partition_ensure(%s, %s)", (first, (end + timedelta(days=2)).date()))
        conn.execute("ALTER TABLE agent_spend_logs DISABLE TRIGGER USER")
        started = time.perf_counter()
        with conn.cursor().copy(f"COPY agent_spend_logs ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for n, row in enumerate(rows(count, days, end), 1):
                copy.write_row(row)
                if n % 1_000_000 == 0:
                    log(f"  {n:,} rows copied ({time.perf_counter() - started:.0f} s)")
        timings["copy"] = time.perf_counter() - started
        conn.execute("ALTER TABLE agent_spend_logs ENABLE TRIGGER USER")
        started = time.perf_counter()
        # The triggers that would have claimed the keys were off: claim them in one pass.
        conn.execute("ALTER TABLE call_keys DROP CONSTRAINT call_keys_pkey")
        conn.execute("DROP INDEX call_keys_ts")
        conn.execute("INSERT INTO call_keys (dedup_key, ts) SELECT dedup_key, ts FROM agent_spend_logs")
        conn.execute("ALTER TABLE call_keys ADD CONSTRAINT call_keys_pkey PRIMARY KEY (dedup_key)")
        conn.execute("CREATE INDEX call_keys_ts ON call_keys (ts)")
        timings["call keys"] = time.perf_counter() - started
        started = time.perf_counter()
        for _, definition in indexes:
            # A partitioned index's definition reads "ON ONLY agent_spend_logs" (the parent
            # alone); without ONLY it is built on every partition.
            conn.execute(definition.replace(" ON ONLY ", " ON ", 1))
        timings["indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("SELECT * FROM spend_rollup_rebuild()")
        timings["rollup rebuild"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")  # every table: the rollups were filled after their migrations
        timings["vacuum analyze"] = time.perf_counter() - started
    return timings


# The same views over the raw table, for the "without rollups" column: panel SQL is run
# unchanged with this schema first on the search_path, so unqualified names inside 0004's
# SQL functions (resolved when they run) find these instead of the rollup-backed ones.
RAW_SCHEMA = "DROP SCHEMA IF EXISTS raw_equivalent CASCADE; CREATE SCHEMA raw_equivalent;"
RAW_VIEW = """
CREATE VIEW raw_equivalent.spend_by_{grain} AS
SELECT date_trunc('{grain}', ts, 'UTC') AS bucket, user_id, team, model, provider, harness, repository,
       branch, environment, cost_estimation, is_ci, is_developer, count(*)::bigint AS calls,
       count(*) FILTER (WHERE status = 'error')::bigint AS error_calls,
       count(*) FILTER (WHERE is_unpriced)::bigint AS unpriced_calls,
       count(*) FILTER (WHERE is_long_context)::bigint AS long_context_calls,
       sum(input_tokens)::numeric AS input_tokens, sum(output_tokens)::numeric AS output_tokens,
       sum(cache_read_tokens)::numeric AS cache_read_tokens,
       sum(cache_write_tokens)::numeric AS cache_write_tokens,
       sum(reasoning_tokens)::numeric AS reasoning_tokens, sum(prompt_tokens)::numeric AS prompt_tokens,
       sum(total_tokens)::numeric AS total_tokens, sum(cost_usd) AS cost_usd,
       sum(coalesce(list_cost_usd, 0)) AS list_cost_usd,
       sum(coalesce(reported_cost_usd, 0)) AS reported_cost_usd
FROM public.spend_calls
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
"""
RAW_BETWEEN = """
CREATE FUNCTION raw_equivalent.spend_between(p_from timestamptz, p_to timestamptz)
RETURNS SETOF public.spend_row
LANGUAGE sql STABLE AS $$
    SELECT user_id, team, model, provider, harness, repository, branch, environment, cost_estimation, is_ci,
           is_developer, 1::numeric, (status = 'error')::int::numeric, is_unpriced::int::numeric,
           is_long_context::int::numeric, input_tokens::numeric, output_tokens::numeric,
           cache_read_tokens::numeric, cache_write_tokens::numeric, reasoning_tokens::numeric,
           prompt_tokens::numeric, total_tokens::numeric, cost_usd, coalesce(list_cost_usd, 0),
           coalesce(reported_cost_usd, 0)
    FROM public.spend_calls WHERE ts >= p_from AND ts <= p_to
$$;
"""


# 0005's coarse path (spend_totals) over the raw table as well.
RAW_BETWEEN_COARSE = """
CREATE FUNCTION raw_equivalent.spend_between_coarse(p_from timestamptz, p_to timestamptz)
RETURNS SETOF public.spend_total_row
LANGUAGE sql STABLE AS $$
    SELECT team, model, provider, harness, environment, cost_estimation, is_ci, 1::numeric,
           (status = 'error')::int::numeric, is_unpriced::int::numeric, is_long_context::int::numeric,
           input_tokens::numeric, output_tokens::numeric, cache_read_tokens::numeric,
           cache_write_tokens::numeric, reasoning_tokens::numeric, prompt_tokens::numeric,
           total_tokens::numeric, cost_usd,
           coalesce(list_cost_usd, 0), coalesce(reported_cost_usd, 0)
    FROM public.spend_calls WHERE ts >= p_from AND ts <= p_to
$$;
"""


# 0006/0007's dimension rollups (spend_users, spend_repos, spend_user_days, spend_hour_totals)
# over the raw table as well: the same views and row functions, computed from raw calls.
MEASURES = """sum(calls) AS calls, sum(error_calls) AS error_calls, sum(unpriced_calls) AS unpriced_calls,
       sum(long_context_calls) AS long_context_calls, sum(input_tokens) AS input_tokens,
       sum(output_tokens) AS output_tokens, sum(cache_read_tokens) AS cache_read_tokens,
       sum(cache_write_tokens) AS cache_write_tokens, sum(reasoning_tokens) AS reasoning_tokens,
       sum(prompt_tokens) AS prompt_tokens, sum(total_tokens) AS total_tokens, sum(cost_usd) AS cost_usd,
       sum(list_cost_usd) AS list_cost_usd, sum(reported_cost_usd) AS reported_cost_usd"""
RAW_DIMENSION_VIEWS = f"""
CREATE VIEW raw_equivalent.spend_by_day_user AS
SELECT bucket, user_id, team, model, environment, is_ci, is_developer, {MEASURES}
FROM raw_equivalent.spend_by_day GROUP BY 1, 2, 3, 4, 5, 6, 7;
CREATE VIEW raw_equivalent.spend_daily_repo AS
SELECT date_trunc('day', ts, 'UTC') AS bucket, coalesce(workspace_repo, '') AS workspace_repo,
       coalesce(workspace_branch, '') AS workspace_branch, workspace_is_ci, team, environment, user_id,
       count(*) AS calls, sum(coalesce(total_cost_usd, 0)) AS cost_usd,
       sum(coalesce(list_cost_usd, 0)) AS list_cost_usd, sum(input_tokens)::numeric AS input_tokens,
       sum(output_tokens)::numeric AS output_tokens, sum(cache_read_tokens)::numeric AS cache_read_tokens,
       sum(cache_write_tokens)::numeric AS cache_write_tokens
FROM public.agent_spend_logs GROUP BY 1, 2, 3, 4, 5, 6, 7;
CREATE VIEW raw_equivalent.spend_by_hour_coarse AS
SELECT bucket, team, model, harness, environment, {MEASURES}
FROM raw_equivalent.spend_by_hour GROUP BY 1, 2, 3, 4, 5;
CREATE VIEW raw_equivalent.spend_by_hour_team AS
SELECT bucket, team, environment, {MEASURES}
FROM raw_equivalent.spend_by_hour GROUP BY 1, 2, 3;
"""
RAW_BETWEEN_DIMENSIONS = """
CREATE FUNCTION raw_equivalent.spend_between_user(p_from timestamptz, p_to timestamptz)
RETURNS SETOF public.spend_user_row
LANGUAGE sql STABLE AS $$
    SELECT user_id, team, model, environment, is_ci, is_developer, calls, error_calls, unpriced_calls,
           long_context_calls, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
           reasoning_tokens, prompt_tokens, total_tokens, cost_usd, list_cost_usd, reported_cost_usd
    FROM raw_equivalent.spend_between(p_from, p_to)
$$;
"""


def create_raw_equivalent(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(RAW_SCHEMA)
        for grain in ("day", "hour"):
            conn.execute(RAW_VIEW.format(grain=grain))
        conn.execute(RAW_BETWEEN)
        conn.execute(RAW_BETWEEN_COARSE)
        conn.execute(RAW_DIMENSION_VIEWS)
        conn.execute(RAW_BETWEEN_DIMENSIONS)


def default_end() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
