"""A report, the API and the matching dashboard panel give the same figures for the same range and
filters, on a database seeded through the real path (`agent-spend serve`, the OTLP seeder, the
ingest triggers) over two weeks across a month boundary.

* `report monthly --by team --format csv` == the By team dashboard's Teams panel (team_summary)
  for each month, Grafana's "whole month" range (to the last millisecond), with its macros and
  variables expanded as Grafana does (tests/support/grafana_sql.py) == `/api/v1/reports/monthly`;
* `report daily --by team` == the Daily cost per team panel (spend_by_day per UTC day);
* `/api/v1/breakdown?by=model` == the org overview's Model mix panel (spend_totals per model).

For every filter on All and for a sample of single and combined filter values.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from click.testing import CliRunner

import seeder
from bridge.api.server import ApiServer
from bridge.cli import main
from dashboards import build
from tests.support.bridge_process import start_bridge
from tests.support.db import template_copy
from tests.support.grafana_sql import ALL, Variable, render

SEED_NOW = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)
DAYS = 14
TOKEN = "parity-token"
MONTHS = [(date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 3, 1), date(2026, 3, 31))]
# report/API filter name -> dashboard variable name
VARIABLES = {
    "environment": "environment",
    "team": "team",
    "user": "user",
    "model": "model",
    "harness": "harness",
    "repo": "repository",
}
DASHBOARDS = {p.stem: json.loads(p.read_text()) for p in Path(build.__file__).parent.glob("*.json")}


@dataclass(frozen=True)
class Seeded:
    url: str
    samples: list[dict[str, str]]  # filter sets: All, then single and combined values


@pytest.fixture(scope="module")
def seeded(server_url: str, template_db: str) -> Iterator[Seeded]:
    with template_copy(server_url, template_db, "parity") as url:
        bridge = start_bridge(url)
        try:
            seeder.run_seed(bridge.grpc_url, protocol="grpc", days=DAYS, users=10, seed=7, now=SEED_NOW)
        finally:
            assert bridge.stop() == 0, "".join(bridge.stderr_lines)
        with psycopg.connect(url) as conn:
            common = conn.execute(
                """SELECT environment, team, user_id, model, harness, repository
                   FROM spend_calls WHERE repository <> '(none)'
                   GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY count(*) DESC, 3 LIMIT 1"""
            ).fetchone()
            other_team = conn.execute(
                "SELECT team FROM spend_calls GROUP BY team ORDER BY count(*) ASC, team LIMIT 1"
            ).fetchone()
        assert common is not None and other_team is not None
        env, team, user, model, harness, repo = common
        samples = [
            {},
            {"team": team},
            {"user": user},
            {"model": model},
            {"harness": harness},
            {"repo": repo},
            {"environment": env, "model": model},
            {"team": f"{team},{other_team[0]}", "repo": "(none)"},
        ]
        yield Seeded(url, samples)


@pytest.fixture(scope="module")
def api(seeded: Seeded) -> Iterator[ApiServer]:
    server = ApiServer(seeded.url, [TOKEN], port=0, threads=2, clock=lambda: SEED_NOW)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _variables(dashboard: dict[str, Any], sample: dict[str, str]) -> dict[str, Variable]:
    """The dashboard's filter variables: All, or the sample's values selected."""
    chosen = {VARIABLES[k]: v.split(",") for k, v in sample.items()}
    out = {}
    for spec in dashboard["templating"]["list"]:
        name = spec["name"]
        current: str | list[str] = chosen.get(name, ALL)
        out[name] = Variable(name, current, spec["multi"], spec["includeAll"], spec.get("allValue"))
    return out


def panel_rows(
    url: str, dashboard: str, title: str, start: datetime, end: datetime, sample: dict[str, str]
) -> list[tuple]:
    board = DASHBOARDS[dashboard]
    panel = next(p for p in board["panels"] if p["title"] == title)
    query = render(panel["targets"][0]["rawSql"], start, end, _variables(board, sample))
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def grafana_range(first: date, last: date) -> tuple[datetime, datetime]:
    """What Grafana sends for whole days first..last: the end is the last millisecond of `last`."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    return start, datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC) - timedelta(
        milliseconds=1
    )


def cli_options(sample: dict[str, str]) -> list[str]:
    return [
        arg for name, values in sample.items() for value in values.split(",") for arg in (f"--{name}", value)
    ]


def api_get(server: ApiServer, path: str, params: dict[str, str]) -> dict[str, Any]:
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", f"{path}?{urlencode(params)}", headers={"Authorization": f"Bearer {TOKEN}"})
        response = conn.getresponse()
        body = json.loads(response.read())
        assert response.status == 200, body
        return body
    finally:
        conn.close()


def test_monthly_by_team_csv_equals_the_by_team_panel_and_the_api(seeded: Seeded, api: ApiServer) -> None:
    since, until = MONTHS[0][0], MONTHS[-1][1]
    compared = 0
    for sample in seeded.samples:
        result = CliRunner().invoke(
            main,
            ["report", "monthly", "--by", "team", "--format", "csv", "--since", str(since),
             "--until", str(until), "--database-url", seeded.url, *cli_options(sample)],
            catch_exceptions=False,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        report = {
            (r["period"], r["team"]): Decimal(r["cost_usd"])
            for r in csv.DictReader(io.StringIO(result.output))
        }
        calls = {
            (r["period"], r["team"]): int(r["calls"]) for r in csv.DictReader(io.StringIO(result.output))
        }
        body = api_get(
            api, "/api/v1/reports/monthly", {"by": "team", "since": str(since), "until": str(until), **sample}
        )
        assert {(r["period"], r["team"]): Decimal(r["cost_usd"]) for r in body["rows"]} == report
        assert {(r["period"], r["team"]): r["calls"] for r in body["rows"]} == calls
        panel: dict[tuple[str, str], Decimal] = {}
        panel_calls: dict[tuple[str, str], int] = {}
        for first, last in MONTHS:
            start, end = grafana_range(first, last)
            for team, cost, _list, n, *_ in panel_rows(seeded.url, "by-team", "Teams", start, end, sample):
                panel[(first.strftime("%Y-%m"), team)] = cost
                panel_calls[(first.strftime("%Y-%m"), team)] = int(n)
        assert report == panel, sample
        assert calls == panel_calls, sample
        compared += len(report)
    assert compared > 10


def test_daily_by_team_equals_the_daily_cost_panel(seeded: Seeded, api: ApiServer) -> None:
    first, last = (SEED_NOW - timedelta(days=DAYS)).date(), SEED_NOW.date()
    for sample in seeded.samples[:4]:
        body = api_get(
            api, "/api/v1/reports/daily", {"by": "team", "since": str(first), "until": str(last), **sample}
        )
        report = {(r["period"], r["team"]): Decimal(r["cost_usd"]) for r in body["rows"]}
        start, end = grafana_range(first, last)
        panel = {
            (datetime.fromtimestamp(int(bucket), UTC).date().isoformat(), team): cost
            for bucket, team, cost in panel_rows(
                seeded.url, "by-team", "Daily cost per team", start, end, sample
            )
        }
        assert report == panel, sample
        assert report, sample


def test_breakdown_by_model_equals_the_model_mix_panel(seeded: Seeded, api: ApiServer) -> None:
    first, last = (SEED_NOW - timedelta(days=DAYS)).date(), SEED_NOW.date()
    for sample in seeded.samples:
        body = api_get(
            api, "/api/v1/breakdown", {"by": "model", "since": str(first), "until": str(last), **sample}
        )
        start, end = grafana_range(first, last)
        panel = dict(panel_rows(seeded.url, "org-overview", "Model mix", start, end, sample))
        assert {r["model"]: Decimal(r["cost_usd"]) for r in body["rows"]} == panel, sample
