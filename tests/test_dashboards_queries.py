"""Every dashboard query, macro-expanded as Grafana would, against a seeded database.

The database is seeded once per module through the real path: `agent-spend serve`, the
synthetic seeder over OTLP/gRPC, the ingest triggers filling the rollups; then the seeded
billing (seeder/billing.py) for the Reconciliation dashboard. Each query runs
for the seeded 7 days and for an empty range long ago, with every filter on All and with
one real value per filter, as the owner and as the read-only role Grafana logs in with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

import seeder
from dashboards import build
from seeder.billing import seed_billing
from tests.support.bridge_process import start_bridge
from tests.support.db import template_copy
from tests.support.grafana_sql import ALL, Variable, panel_interval, panel_range, render, sql_targets

DASHBOARDS = {
    path.name: json.loads(path.read_text()) for path in sorted(Path(build.__file__).parent.glob("*.json"))
}
NUMERIC = {"int2", "int4", "int8", "numeric", "float4", "float8"}
TIME = {"timestamptz", "timestamp", "date"}
FAR_PAST = (datetime(2001, 1, 1, tzinfo=UTC), datetime(2001, 1, 8, tzinfo=UTC))
BUDGETS = {"platform": Decimal("150"), "payments": Decimal("5"), "data": Decimal("400")}
# The seeded week ends here, not at the wall clock: a week across a month boundary.
SEED_NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    url: str
    start: datetime  # the seeded week
    end: datetime
    sample: dict[str, str]  # one real value per filter variable, all from one call


@pytest.fixture(scope="module")
def seeded(server_url: str, template_db: str) -> Iterator[Seeded]:
    with template_copy(server_url, template_db, "dash") as url:
        bridge = start_bridge(url)
        try:
            result = seeder.run_seed(
                bridge.grpc_url, protocol="grpc", days=7, users=10, seed=42, now=SEED_NOW
            )
        finally:
            assert bridge.stop() == 0, "".join(bridge.stderr_lines)
        end = SEED_NOW
        # What the providers billed for it (plus an unmonitored key): the Reconciliation dashboard.
        seed_billing(url, (end - timedelta(days=7)).date(), end.date(), seed=42, now=end)
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM agent_spend_logs").fetchone() == (result.model_calls,)
            for team, budget in BUDGETS.items():
                conn.execute(
                    "INSERT INTO budgets (name, scope_kind, scope, period, amount_usd, valid_from)"
                    " VALUES (%s, 'team', %s, 'month', %s, '-infinity')",
                    (f"team:{team}:month", team, budget),
                )
            _add_data_quality_cases(conn, end)
            row = conn.execute(
                """SELECT environment, team, user_id, model, harness, repository, session_id
                   FROM spend_calls WHERE NOT is_ci AND repository <> '(none)'
                   GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY count(*) DESC, 7 LIMIT 1"""
            ).fetchone()
        assert row is not None
        keys = ("environment", "team", "user", "model", "harness", "repository", "session")
        yield Seeded(url, end - timedelta(days=7), end, dict(zip(keys, row, strict=True)))


def _add_data_quality_cases(conn: psycopg.Connection[Any], now: datetime) -> None:
    """What the seeder never produces: a caller without identity, and a clock running ahead."""
    conn.execute(
        """INSERT INTO agent_spend_logs (dedup_key, ts, ingest_ts, source, signal, user_id, team, model,
                                         provider, harness_name, input_tokens, output_tokens, total_cost_usd,
                                         cost_estimation, session_id)
           VALUES ('dq-unknown', %(ts)s, %(ts)s, 'otel-genai', 'trace', 'unknown', 'unknown',
                   'mystery-model', 'unknown', 'unknown', 1000, 100, NULL, 'unreported', 'dq-session'),
                  ('dq-skew', %(ahead)s, %(ts)s, 'otel-genai', 'log', 'skewed@example.com', 'unknown',
                   'gpt-5', 'openai', 'codex', 2000, 200, 0.01, 'metered', NULL)""",
        {"ts": now - timedelta(hours=2), "ahead": now - timedelta(hours=2) + timedelta(minutes=3)},
    )


def variable_states(
    conn: psycopg.Connection[Any],
    dashboard: dict[str, Any],
    start: datetime,
    end: datetime,
    pick: dict[str, str] | None,
) -> dict[str, Variable]:
    """Resolve the dashboard's variables in order, as Grafana does: options from each query,
    then All (or the first option where there is no All), or the `pick` values."""
    resolved: dict[str, Variable] = {}
    for spec in dashboard["templating"]["list"]:
        name = spec["name"]
        if spec["type"] == "textbox":
            resolved[name] = Variable(name, (pick or {}).get(name, ""))
            continue
        rows = conn.execute(render(spec["query"], start, end, resolved)).fetchall()
        assert all(len(r) == 1 for r in rows), f"variable {name} must return one column"
        options = [str(r[0]) for r in rows]
        if pick:
            current: str | list[str] = pick[name]
        elif spec["includeAll"]:
            current = ALL
        else:
            current = options[0] if options else ""
        if spec["multi"] and current != ALL:
            current = [current] if isinstance(current, str) else current
        resolved[name] = Variable(
            name, current, spec["multi"], spec["includeAll"], spec.get("allValue"), options
        )
    return resolved


def column_types(conn: psycopg.Connection[Any], cursor: psycopg.Cursor[Any]) -> list[tuple[str, str]]:
    described = cursor.description or []
    return [
        (c.name, getattr(conn.adapters.types.get(c.type_code), "name", str(c.type_code))) for c in described
    ]


def check_shape(kind: str, title: str, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
    types = [t for _, t in columns]
    assert columns, f"{title}: no columns"
    if kind == "timeseries":
        time = [t for n, t in columns if n == "time"]
        assert time and (time[0] in NUMERIC or time[0] in TIME), f"{title}: no time column: {columns}"
        assert any(t in NUMERIC for n, t in columns if n != "time"), f"{title}: no value column: {columns}"
        assert [r[0] for r in rows] == sorted(r[0] for r in rows), f"{title}: not ordered by time"
    elif kind == "stat":
        assert types[0] in NUMERIC and len(rows) <= 1, f"{title}: {columns}"
    elif kind in ("piechart", "bargauge"):
        assert types[0] == "text" and any(t in NUMERIC for t in types[1:]), f"{title}: {columns}"


# Panels that ignore the time picker: now-relative, current month, all time, or one session.
RANGE_FREE = ("now()", "burn_rate_now(", "month_to_date(", "active_sessions(", "budget_state",
              "FROM unpriced_models", "${session:sqlstring}")  # fmt: skip


def range_free(panel: dict[str, Any], query: str) -> bool:
    return bool(panel.get("timeFrom")) or any(marker in query for marker in RANGE_FREE)


def run_dashboard(
    conn: psycopg.Connection[Any],
    dashboard: dict[str, Any],
    start: datetime,
    end: datetime,
    pick: dict[str, str] | None,
) -> dict[str, list[tuple[Any, ...]]]:
    variables = variable_states(conn, dashboard, start, end, pick)
    results: dict[str, list[tuple[Any, ...]]] = {}
    for panel, target in sql_targets(dashboard):
        panel_start, panel_end = panel_range(panel, start, end)
        interval = panel_interval(panel_start, panel_end, min_interval=panel.get("interval"))
        query = render(target["rawSql"], panel_start, panel_end, variables, interval)
        try:
            cursor = conn.execute(query)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise AssertionError(f"{dashboard['uid']} / {panel['title']}: {exc}\n{query}") from exc
        rows = cursor.fetchall()
        check_shape(panel["type"], panel["title"], column_types(conn, cursor), rows)
        if not range_free(panel, target["rawSql"]):
            results[panel["title"]] = rows
    return results


@pytest.fixture(params=["owner", "reader"])
def conn(request: pytest.FixtureRequest, seeded: Seeded) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(seeded.url, autocommit=True) as connection:
        connection.execute("SET TIME ZONE 'America/Los_Angeles'")  # UTC buckets whatever the session says
        if request.param == "reader":
            connection.execute("SET ROLE agent_spend_reader")
            denied = connection.execute("SELECT has_table_privilege('agent_spend_logs', 'SELECT')").fetchone()
            assert denied == (False,), "Grafana's role must not read raw rows"
        yield connection


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
@pytest.mark.parametrize("when", ["seeded week", "far past"])
@pytest.mark.parametrize("filters", ["all", "one value each"])
def test_every_query_runs(
    conn: psycopg.Connection[Any], seeded: Seeded, name: str, when: str, filters: str
) -> None:
    start, end = (seeded.start, seeded.end) if when == "seeded week" else FAR_PAST
    results = run_dashboard(
        conn, DASHBOARDS[name], start, end, seeded.sample if filters == "one value each" else None
    )
    if when == "far past":
        for title, rows in results.items():
            values = [v for row in rows for v in row if isinstance(v, int | float | Decimal)]
            assert all(v == 0 for v in values), f"{title}: data in an empty range: {rows}"
    else:
        empty = [title for title, rows in results.items() if not rows]
        assert len(empty) <= (3 if filters == "all" else len(results) // 2), f"{name}: mostly empty: {empty}"


def panel_sql(name: str, title: str) -> str:
    return next(t["rawSql"] for p, t in sql_targets(DASHBOARDS[name]) if p["title"] == title)


def raw(conn: psycopg.Connection[Any], query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(conn.info.dsn, autocommit=True) as owner:  # the reader may not read raw rows
        return owner.execute(query, params).fetchall()


@pytest.mark.parametrize(
    "offsets",
    [(timedelta(days=7), timedelta(0)), (timedelta(days=3, minutes=17), timedelta(hours=1, seconds=3.5))],
)
def test_total_cost_equals_raw_sum(
    conn: psycopg.Connection[Any], seeded: Seeded, offsets: tuple[timedelta, ...]
) -> None:
    start, end = seeded.end - offsets[0], seeded.end - offsets[1]
    variables = variable_states(conn, DASHBOARDS["org-overview.json"], start, end, None)
    (stat,) = (
        conn.execute(render(panel_sql("org-overview.json", "Total cost"), start, end, variables)).fetchone()
        or ()
    )
    total = "SELECT coalesce(sum(total_cost_usd), 0) FROM agent_spend_logs WHERE ts BETWEEN %s AND %s"
    ((expected,),) = raw(conn, total, start, end)
    assert stat == expected > 0
    (calls,) = (
        conn.execute(render(panel_sql("org-overview.json", "Model calls"), start, end, variables)).fetchone()
        or ()
    )
    assert (
        calls
        == raw(conn, "SELECT count(*) FROM agent_spend_logs WHERE ts BETWEEN %s AND %s", start, end)[0][0]
    )


def test_team_costs_equal_raw_group_by(conn: psycopg.Connection[Any], seeded: Seeded) -> None:
    start, end = seeded.start, seeded.end
    query = panel_sql("by-team.json", "Cost per team")
    variables = variable_states(conn, DASHBOARDS["by-team.json"], start, end, None)
    panel = dict(conn.execute(render(query, start, end, variables)).fetchall())
    expected = dict(raw(conn, "SELECT team, sum(coalesce(total_cost_usd, 0)) FROM agent_spend_logs "
                              "WHERE ts BETWEEN %s AND %s GROUP BY team", start, end))  # fmt: skip
    assert panel == expected and len(panel) >= 5
    # One team selected: only that team, same figure.
    team = seeded.sample["team"]
    variables["team"] = Variable("team", [team], True, True, "'__all'", list(panel))
    assert dict(conn.execute(render(query, start, end, variables)).fetchall()) == {team: expected[team]}


def test_filters_narrow_like_a_where_clause(conn: psycopg.Connection[Any], seeded: Seeded) -> None:
    start, end = seeded.start, seeded.end
    variables = variable_states(conn, DASHBOARDS["org-overview.json"], start, end, None)
    model = seeded.sample["model"]
    variables["model"] = Variable("model", [model, "o'brien-model"], True, True, "'__all'", [model])
    (stat,) = (
        conn.execute(render(panel_sql("org-overview.json", "Total cost"), start, end, variables)).fetchone()
        or ()
    )
    total = "SELECT sum(total_cost_usd) FROM agent_spend_logs WHERE ts BETWEEN %s AND %s AND model = %s"
    expected = raw(conn, total, start, end, model)[0][0]
    assert stat == expected > 0


@pytest.mark.parametrize("role", ["owner", "reader"])
def test_budget_status_and_projection(seeded: Seeded, role: str) -> None:
    """Month to date as of an explicit p_now (budget_state_at), not the wall clock: the
    expectation never depends on which day the suite runs."""
    p_now = SEED_NOW
    with psycopg.connect(seeded.url) as owner:
        # $6 for payments at p_now (its budget is $5) and $1000 a microsecond before its month
        # began: the first is in the month, the second never is.
        owner.execute(
            """INSERT INTO agent_spend_logs (dedup_key, ts, source, signal, user_id, team, model,
                                             total_cost_usd, cost_estimation)
               VALUES ('budget-now', %(now)s, 'otel-genai', 'trace', 'u@example.com', 'payments', 'gpt-5',
                       6, 'metered'),
                      ('budget-last-month', date_trunc('month', %(now)s, 'UTC') - interval '1 microsecond',
                       'otel-genai', 'trace', 'u@example.com', 'payments', 'gpt-5', 1000, 'metered')""",
            {"now": p_now},
        )
        month = (
            "SELECT team, sum(coalesce(total_cost_usd, 0)) FROM agent_spend_logs "
            "WHERE ts >= date_trunc('month', %s::timestamptz, 'UTC') AND ts <= %s GROUP BY team"
        )
        spent = dict(owner.execute(month, (p_now, p_now)).fetchall())
        if role == "reader":
            owner.execute("SET LOCAL ROLE agent_spend_reader")
        rows = owner.execute(
            "SELECT scope, amount_usd, spent_usd, status FROM budget_state_at(%s) WHERE scope_kind = 'team'",
            (p_now,),
        ).fetchall()
        assert owner.execute("SELECT * FROM budget_state").fetchall()  # the dashboards' view: p_now = now()
        owner.rollback()
    status = {team: (budget, spent, state) for team, budget, spent, state in rows}
    assert set(status) == set(BUDGETS)
    for team, (budget, mtd, state) in status.items():
        assert budget == BUDGETS[team] and mtd == spent.get(team, 0)
        assert (state == "exceeded") == (mtd >= budget)
    assert status["payments"][1] >= 6 and status["payments"][2] == "exceeded"
