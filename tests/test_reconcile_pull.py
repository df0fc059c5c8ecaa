"""`agent-spend reconcile pull` against a local fake of each admin API (tests/support/fake_billing.py):
how it talks to the providers.

Pagination and the documented request shapes, 429s with Retry-After (bounded), refused
keys, the CLI's key handling, and the admin key never showing up in logs, exceptions,
billing_sync.last_error or the CLI's output. Which days a pull covers and what it stores
for them is test_reconcile_days. Every instant is passed as `now`; the client's sleep is a
recorder, so no test waits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from bridge.admin.reconcile import anthropic, openai
from bridge.admin.reconcile.client import AdminAuthError, RateLimitedError, RetryPolicy, Secret, redact
from bridge.admin.reconcile.pull import pull, pull_report
from bridge.cli.reconcile import reconcile_group
from tests.support.fake_billing import ANTHROPIC_KEY, OPENAI_KEY, FakeBilling
from tests.support.reconcile import LINES, NOW, D, clients, usage_result


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def sync(conn: psycopg.Connection, provider: str, report: str) -> tuple[date | None, str | None] | None:
    row = conn.execute(
        "SELECT complete_through, last_error FROM billing_sync WHERE provider = %s AND report = %s",
        (provider, report),
    ).fetchone()
    return (row[0], row[1]) if row else None


def test_anthropic_usage_follows_pages_and_maps_buckets(
    fake: FakeBilling, conn: psycopg.Connection, sleeps: list[float]
) -> None:
    for day in D[0:7]:
        fake.set_anthropic_usage(day, [usage_result(), usage_result("claude-haiku-4-5", "apikey_02", 2)])
    client, _ = clients(fake, sleeps)
    with client:
        result = pull_report(conn, anthropic.UsageReport(client), now=NOW, since=D[0], until=D[6])
    assert result.ok and (result.days_written, result.lines) == (7, 14)
    seen = list(fake.requests_to(anthropic.USAGE_PATH))
    assert len(seen) == 3  # 7 daily buckets, 3 per page
    assert seen[0].query.get("page") is None and all(s.query.get("page") for s in seen[1:])
    first = seen[0]
    assert first.query["group_by[]"] == ["model", "api_key_id", "workspace_id"]
    assert first.query["bucket_width"] == ["1d"]
    assert first.query["starting_at"] == ["2025-06-01T00:00:00Z"]
    assert first.query["ending_at"] == ["2025-06-08T00:00:00Z"]
    assert first.headers["anthropic-version"] == anthropic.API_VERSION
    rows = conn.execute(LINES).fetchall()
    assert rows[0] == (
        "anthropic", "usage", D[0], "claude-haiku-4-5", "apikey_02", "", "", None, 200, 40, 100, 20, None
    )  # fmt: skip
    assert rows[1][3:] == ("claude-sonnet-4-5", "apikey_01", "", "", None, 100, 20, 50, 10, None)
    assert sync(conn, "anthropic", "usage") == (D[6], None)


def test_openai_usage_splits_cached_input_and_sends_documented_query(
    fake: FakeBilling, conn: psycopg.Connection, sleeps: list[float]
) -> None:
    fake.set_openai_usage(
        D[5],
        [
            {
                "input_tokens": 1000,
                "output_tokens": 500,
                "input_cached_tokens": 800,
                "num_model_requests": 5,
                "project_id": "proj_1",
                "user_id": "user-1",
                "api_key_id": "key_1",
                "model": "gpt-4o-mini-2024-07-18",
                "batch": None,
            },
        ],
    )
    _, client = clients(fake, sleeps)
    with client:
        result = pull_report(conn, openai.UsageReport(client), now=NOW, since=D[4], until=D[6])
    assert result.ok
    row = conn.execute(LINES).fetchone()
    assert row == (
        "openai", "usage", D[5], "gpt-4o-mini-2024-07-18", "key_1", "user-1", "", 5, 200, 500, 800, 0, None
    )  # fmt: skip
    query = next(fake.requests_to(openai.USAGE_PATH)).query
    assert query["group_by"] == ["model", "project_id", "user_id", "api_key_id"]
    assert query["start_time"] == [str(int(datetime(2025, 6, 5, tzinfo=UTC).timestamp()))]
    assert query["end_time"] == [str(int(datetime(2025, 6, 8, tzinfo=UTC).timestamp()))]
    seen = next(fake.requests_to(openai.USAGE_PATH))
    assert seen.headers["authorization"] == f"Bearer {OPENAI_KEY}"


def test_429_is_retried_after_the_time_retry_after_asks(
    fake: FakeBilling, conn: psycopg.Connection, sleeps: list[float]
) -> None:
    fake.set_anthropic_usage(D[2], [usage_result()])
    fake.throttle(2, retry_after="3")
    client, _ = clients(fake, sleeps)
    with client:
        result = pull_report(conn, anthropic.UsageReport(client), now=NOW, since=D[2], until=D[2])
    assert result.ok and result.lines == 1
    assert sleeps == [3.0, 3.0]
    assert [s.status for s in fake.requests] == [429, 429, 200]


def test_a_provider_that_always_429s_ends_in_a_clear_error_after_bounded_tries(
    fake: FakeBilling, conn: psycopg.Connection, sleeps: list[float]
) -> None:
    fake.set_anthropic_usage(D[2], [usage_result()])
    fake.always_throttle(retry_after=None)  # no Retry-After: exponential backoff
    client, _ = clients(fake, sleeps, attempts=3)
    with client:
        result = pull_report(conn, anthropic.UsageReport(client), now=NOW, since=D[2], until=D[2])
        with pytest.raises(RateLimitedError, match="429"):
            client.get_json(anthropic.USAGE_PATH, {"starting_at": "2025-06-01T00:00:00Z"})
    assert not result.ok and "429" in (result.error or "") and "3 times" in (result.error or "")
    assert len(fake.requests) == 6 and sleeps == [0.5, 1.0, 0.5, 1.0]
    assert conn.execute("SELECT count(*) FROM billing_lines").fetchone() == (0,)
    state = sync(conn, "anthropic", "usage")
    assert state is not None and state[0] is None and "429" in (state[1] or "")


def test_claude_code_pages_records_of_one_day(
    fake: FakeBilling, conn: psycopg.Connection, sleeps: list[float]
) -> None:
    records = [
        {
            "actor": {"type": "user_actor", "email_address": f"dev{n}@example.com"}
            if n % 2
            else {"type": "api_actor", "api_key_name": f"ci-key-{n}"},
            "customer_type": "subscription",
            "model_breakdown": [
                {
                    "model": "claude-sonnet-4-5",
                    "tokens": {"input": n, "output": 1, "cache_read": 0, "cache_creation": 0},
                    "estimated_cost": {"amount": 1.5, "currency": "USD"},
                }
            ],
        }
        for n in range(1, 5)
    ]
    fake.set_claude_code(D[7], records)
    client, _ = clients(fake, sleeps)
    with client:
        result = pull_report(conn, anthropic.ClaudeCodeReport(client), now=NOW, since=D[7], until=D[8])
    assert result.ok and result.lines == 4
    assert len(list(fake.requests_to(anthropic.CLAUDE_CODE_PATH))) == 3  # 2 pages + the empty next day
    users = [r[0] for r in conn.execute("SELECT user_ref FROM billing_lines ORDER BY user_ref").fetchall()]
    assert users == ["ci-key-2", "ci-key-4", "dev1@example.com", "dev3@example.com"]
    assert conn.execute("SELECT sum(cost_usd) FROM billing_lines").fetchone() == (Decimal("0.06"),)


def test_a_refused_key_is_an_auth_error_recorded_without_the_key(
    fake: FakeBilling, conn: psycopg.Connection, sleeps: list[float]
) -> None:
    wrong = ("sk-ant-admin01-WRONGwrongWRONGwrong0123456789", "sk-admin-WRONGopenaiWRONG0123456789abcdef")
    a, o = clients(fake, sleeps, keys=wrong)
    with a, o:
        results = pull(conn, [anthropic.UsageReport(a), openai.UsageReport(o)], now=NOW, since=D[0])
        with pytest.raises(AdminAuthError) as caught:
            o.get_json(openai.USAGE_PATH, {"start_time": 0})
    assert all(not r.ok and "refused" in (r.error or "") for r in results)
    assert wrong[1] not in str(caught.value)
    assert "Incorrect API key provided: ***." in str(caught.value)
    for provider in ("anthropic", "openai"):
        state = sync(conn, provider, "usage")
        assert state is not None and "401" in (state[1] or "")
        assert not any(key in (state[1] or "") for key in wrong)


def test_the_admin_key_never_appears_in_logs_errors_sync_state_or_cli_output(
    fake: FakeBilling,
    conn: psycopg.Connection,
    sleeps: list[float],
    database_url: str,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)  # root: bridge.*, httpx2, httpcore2 at DEBUG
    for name in ("httpx2", "httpcore2", "bridge"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    keys = (ANTHROPIC_KEY, OPENAI_KEY)
    fake.set_anthropic_usage(D[1], [usage_result()])
    texts: list[str] = []
    # 1. A successful pull of every report.
    a, o = clients(fake, sleeps)
    with a, o:
        texts += [repr(a), str(a), repr(Secret(ANTHROPIC_KEY)), str(Secret(OPENAI_KEY))]
        assert all(r.ok for r in pull(conn, [*anthropic.sources(a), *openai.sources(o)], now=NOW, since=D[0]))
    # 2. The provider refuses the key (OpenAI's error body echoes it) and 3. always 429s.
    with FakeBilling(anthropic_key="other-a", openai_key="other-o") as refusing:
        a, o = clients(refusing, sleeps)
        with a, o:
            for source in (anthropic.UsageReport(a), openai.CostsReport(o)):
                texts.append(str(pull_report(conn, source, now=NOW, since=D[0]).error))
            for client, path in ((a, anthropic.COST_PATH), (o, openai.COSTS_PATH)):
                with pytest.raises(AdminAuthError) as caught:
                    client.get_json(path, {})
                texts += [str(caught.value), repr(caught.value), str(caught.value.args)]
    fake.always_throttle(retry_after="0")
    a, o = clients(fake, sleeps, attempts=2)
    with a, o:
        for client, path in ((a, anthropic.USAGE_PATH), (o, openai.USAGE_PATH)):
            with pytest.raises(RateLimitedError) as limited:
                client.get_json(path, {})
            texts += [str(limited.value), repr(limited.value)]
    texts += [str(row[0]) for row in conn.execute("SELECT last_error FROM billing_sync").fetchall()]
    # 4. The CLI: keys from the environment and from a file, success and failure.
    key_file = tmp_path / "openai.key"
    key_file.write_text(OPENAI_KEY + "\n")
    key_file.chmod(0o600)
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", ANTHROPIC_KEY)
    runner = CliRunner()
    args = [
        "pull", "--database-url", database_url, "--since", "2025-06-01", "--until", "2025-06-02",
        "--anthropic-base-url", fake.url, "--openai-base-url", fake.url, "--openai-key-file", str(key_file),
        "--retries", "1",
    ]  # fmt: skip
    throttled = runner.invoke(reconcile_group, args)
    assert throttled.exit_code == 1, throttled.output
    texts.append(throttled.output)
    fake.state.always_throttle = False
    ok = runner.invoke(reconcile_group, args)
    assert ok.exit_code == 0, ok.output
    texts.append(ok.output)
    texts.append(caplog.text)
    texts += [r.getMessage() for r in caplog.records]
    assert "anthropic usage: replaced 2025-06-01..2025-06-02" in ok.output
    for text in texts:
        for key in keys:
            assert key not in text
            assert redact(text, [Secret(key)]) == text  # no 8+ character piece of it either
    assert "HTTP Request" in caplog.text  # httpx2's own logging was captured


def test_cli_skips_a_provider_without_a_key_unless_it_was_named(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "ANTHROPIC_ADMIN_KEY",
        "OPENAI_ADMIN_KEY",
        "ANTHROPIC_ADMIN_KEY_FILE",
        "OPENAI_ADMIN_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENT_SPEND_DATABASE_URL", database_url)
    runner = CliRunner()
    alone = runner.invoke(reconcile_group, [])  # no subcommand: runs pull
    assert alone.exit_code == 0, alone.output
    assert "anthropic: skipped, no admin key" in alone.output and "nothing pulled" in alone.output
    named = runner.invoke(reconcile_group, ["pull", "--provider", "openai"])
    assert named.exit_code == 2 and "openai: no admin key (set OPENAI_ADMIN_KEY" in named.output
    missing = runner.invoke(reconcile_group, ["pull", "--anthropic-key-file", "/nonexistent/key"])
    assert missing.exit_code == 2 and "cannot read /nonexistent/key" in missing.output


def test_redact_and_retry_after_parsing() -> None:
    secret = Secret("sk-admin-0123456789abcdefghijklmnop")
    assert redact("got sk-admin-0123456789abcdefghijklmnop!", [secret]) == "got ***!"
    assert "0123456789abcdef" not in redact("key sk-adm***0123456789abcdef***", [secret])
    assert repr(secret) == str(secret) == "Secret('***')"
    policy = RetryPolicy(attempts=4, backoff=2, max_wait=10)
    assert [policy.wait_for(n, None) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]
    assert policy.wait_for(1, "7") == 7 and policy.wait_for(1, "600") == 10
    assert policy.wait_for(1, "Wed, 21 Oct 2015 07:28:00 GMT") == 0  # a date in the past
    assert policy.wait_for(1, "soon") == 2
