"""`agent-spend api`: the read-only JSON API over real HTTP (cheroot on a free loopback port):
authentication, every endpoint equal to the report functions, errors, read-only connections."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from bridge.admin import report_periods, reports
from bridge.admin.report_format import as_json
from bridge.api.app import ApiApp
from bridge.api.server import ApiServer, ConnectionPool
from bridge.cli import main
from tests.support.rollups import call, insert_calls

TOKEN = "s3cret-token"
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
def api(database_url: str) -> Iterator[tuple[ApiServer, str]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_calls(
            conn,
            [
                call("a", datetime(2026, 11, 10, 9, tzinfo=UTC), team="payments", workspace_repo="pay",
                     total_cost_usd=Decimal("1.25"), list_cost_usd=Decimal("1.25"), session_id="s1"),
                call("b", datetime(2026, 11, 28, 9, tzinfo=UTC), team="platform", user_id="bo@example.com",
                     model="gpt-5", provider="openai", harness_name="codex", total_cost_usd=Decimal("0.333"),
                     list_cost_usd=Decimal("0.333"), session_id="s2"),
                call("c", datetime(2026, 12, 2, 9, tzinfo=UTC), team="payments", total_cost_usd=Decimal("2"),
                     list_cost_usd=Decimal("2"), session_id="s1"),
                call("d", datetime(2026, 9, 2, 9, tzinfo=UTC), team="data", total_cost_usd=Decimal("9"),
                     list_cost_usd=Decimal("9")),
            ],
        )  # fmt: skip
    server = ApiServer(database_url, [TOKEN, "rotated-token"], port=0, threads=2, clock=lambda: NOW)
    server.start()
    try:
        yield server, database_url
    finally:
        server.stop()


def request(
    server: ApiServer, path: str, token: str | None = TOKEN, method: str = "GET", scheme: str = "Bearer"
) -> tuple[int, dict[str, str], Any]:
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        return response.status, dict(response.getheaders()), json.loads(body) if body else None
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("token", "scheme"),
    [(None, "Bearer"), ("wrong", "Bearer"), (TOKEN, "Basic"), ("", "Bearer"), (TOKEN + "x", "Bearer")],
)
def test_every_request_needs_the_token(api: tuple[ApiServer, str], token: str | None, scheme: str) -> None:
    for path in ("/api/v1/summary", "/api/v1/nowhere", "/"):
        status, headers, body = request(api[0], path, token, scheme=scheme)
        assert status == 401, path
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert body["error"]["status"] == 401


def test_a_rotated_token_works_too(api: tuple[ApiServer, str]) -> None:
    assert request(api[0], "/api/v1/summary", "rotated-token")[0] == 200


def test_summary_and_breakdown_equal_the_reports(api: tuple[ApiServer, str]) -> None:
    server, url = api
    status, headers, body = request(server, "/api/v1/summary?period=30d")
    assert status == 200 and headers["Content-Type"] == "application/json"
    with psycopg.connect(url) as conn:
        since, until = report_periods.period_days("30d", TODAY)
        assert body == as_json(reports.summary(conn, since, until))
        assert body["total"]["cost_usd"] == "3.583" and body["since"] == "2026-11-04"
        assert request(server, "/api/v1/summary")[2] == body  # 30d is the default
        status, _, per_model = request(server, "/api/v1/breakdown?by=model&period=90d&team=payments,platform")
        assert status == 200
        filters = reports.Filters(team=("payments", "platform"))
        assert per_model == as_json(
            reports.breakdown(conn, *report_periods.period_days("90d", TODAY), "model", filters)
        )
        assert [r["model"] for r in per_model["rows"]] == ["claude-sonnet-4-5", "gpt-5"]
        _, _, ranged = request(server, "/api/v1/summary?since=2026-09-01&until=2026-09-30")
        assert ranged["total"]["cost_usd"] == "9"


@pytest.mark.parametrize(
    ("path", "kind", "since", "by"),
    [
        ("/api/v1/reports/daily", "daily", date(2026, 11, 27), None),
        ("/api/v1/reports/weekly?by=team", "weekly", date(2026, 11, 9), "team"),
        (
            "/api/v1/reports/monthly?by=user&since=2026-09-01&repo=pay&repo=(none)",
            "monthly",
            date(2026, 9, 1),
            "user",
        ),
    ],
)
def test_spend_reports_equal_the_cli_json(
    api: tuple[ApiServer, str], path: str, kind: str, since: date, by: str | None
) -> None:
    server, url = api
    status, _, body = request(server, path)
    assert status == 200
    cli = [
        "report",
        kind,
        "--database-url",
        url,
        "--format",
        "json",
        "--now",
        NOW.isoformat(),
        "--since",
        str(since),
    ]
    if by:
        cli += ["--by", by]
    if "repo=" in path:
        cli += ["--repo", "pay", "--repo", "(none)"]
    result = CliRunner().invoke(main, cli, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert body == json.loads(result.output)
    assert body["rows"]


def test_sessions_chargeback_and_budgets(api: tuple[ApiServer, str]) -> None:
    server, url = api
    status, _, sessions = request(server, "/api/v1/reports/sessions?since=2026-11-01&limit=1")
    assert status == 200 and sessions["sessions"] == 2 and len(sessions["rows"]) == 1
    assert sessions["rows"][0]["session_id"] == "s1" and sessions["rows"][0]["cost_usd"] == "3.25"
    _, _, by_team = request(server, "/api/v1/reports/sessions?since=2026-11-01&by=team")
    assert {r["team"]: r["sessions"] for r in by_team["rows"]} == {"payments": 1, "platform": 1}
    status, _, chargeback = request(server, "/api/v1/reports/chargeback")  # the previous month
    assert status == 200 and chargeback["month"] == "2026-11"
    assert {r["cost_centre"]: r["cost_usd"] for r in chargeback["rows"]} == {
        "payments": "1.25",
        "platform": "0.333",
    }
    assert chargeback["total"]["billed_usd"] is None
    _, _, by_repo = request(server, "/api/v1/reports/chargeback?month=2026-11&by=repo")
    assert {r["cost_centre"] for r in by_repo["rows"]} == {"pay", "(none)"}
    status, _, budgets = request(server, "/api/v1/budgets")
    assert status == 200 and budgets["report"] == "budgets" and budgets["now"] == NOW.isoformat()
    with psycopg.connect(url) as conn:
        assert budgets == as_json(reports.budgets_report(conn, NOW))


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/breakdown", "by"),
        ("/api/v1/breakdown?by=colour", "by"),
        ("/api/v1/summary?period=3x", "period"),
        ("/api/v1/summary?period=30d&since=2026-11-01", "period"),
        ("/api/v1/summary?since=2026-12-05&until=2026-12-01", "until"),
        ("/api/v1/summary?since=2026-02-30", "since"),
        ("/api/v1/summary?since=20261101", "since"),
        ("/api/v1/summary?colour=red", "colour"),
        ("/api/v1/summary?team=", "team"),
        ("/api/v1/summary?by=team", "by"),
        ("/api/v1/reports/daily?by=a&by=b", "by"),
        ("/api/v1/reports/sessions?by=model", "by"),
        ("/api/v1/reports/sessions?limit=0", "limit"),
        ("/api/v1/reports/chargeback?month=2026-13", "month"),
        ("/api/v1/reports/chargeback?by=user", "by"),
        ("/api/v1/budgets?team=payments", "team"),
    ],
)
def test_bad_parameters_are_named(api: tuple[ApiServer, str], path: str, parameter: str) -> None:
    status, _, body = request(api[0], path)
    assert status == 400, body
    assert body["error"]["parameter"] == parameter and body["error"]["message"]


def test_unknown_paths_and_methods(api: tuple[ApiServer, str]) -> None:
    server = api[0]
    status, _, body = request(server, "/api/v1/reports/yearly")
    assert status == 404 and "docs/api.md" in body["error"]["message"]
    assert request(server, "/metrics")[0] == 404
    for method in ("POST", "PUT", "DELETE"):
        status, headers, body = request(server, "/api/v1/summary", method=method)
        assert status == 405 and headers["Allow"] == "GET, HEAD", method
    status, headers, body = request(server, "/api/v1/summary", method="HEAD")
    assert status == 200 and body is None


def test_connections_are_read_only_and_reused(database_url: str) -> None:
    pool = ConnectionPool(database_url, size=1, statement_timeout_s=2)
    try:
        with pool.connection() as conn:
            first = conn.info.backend_pid
            assert conn.execute("SHOW statement_timeout").fetchone() == ("2s",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), pool.connection() as conn:
            assert conn.info.backend_pid == first  # reused
            conn.execute("DELETE FROM agent_spend_logs")
        with pool.connection() as conn:  # the request that failed closed its connection
            assert conn.info.backend_pid != first
            second = conn.info.backend_pid
        with pool.connection() as conn:
            assert conn.info.backend_pid == second
    finally:
        pool.close()


def test_a_database_that_does_not_answer_gives_503() -> None:
    server = ApiServer(
        "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", [TOKEN], port=0, clock=lambda: NOW
    )
    server.start()
    try:
        status, _, body = request(server, "/api/v1/summary")
    finally:
        server.stop()
    assert status == 503 and body["error"]["message"] == "the database is unavailable"


def test_it_never_runs_open(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="token"):
        ApiApp([], lambda: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="token"):
        ApiApp([" "], lambda: None)  # type: ignore[arg-type,return-value]
    monkeypatch.delenv("AGENT_SPEND_API_TOKEN", raising=False)
    monkeypatch.delenv("AGENT_SPEND_API_TOKEN_FILE", raising=False)
    result = CliRunner().invoke(main, ["api", "--database-url", "postgresql://unused/x"])
    assert result.exit_code == 2 and "never runs open" in result.output
    empty = tmp_path / "tokens"
    empty.write_text("# no token yet\n\n")
    result = CliRunner().invoke(
        main, ["api", "--database-url", "postgresql://unused/x", "--token-file", str(empty)]
    )
    assert result.exit_code == 2 and "holds no token" in result.output
