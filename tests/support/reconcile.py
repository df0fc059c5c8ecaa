"""Helpers of the `reconcile pull` tests (test_reconcile_pull, test_reconcile_days): the
fixed clock and days, the billing_lines query, an Anthropic usage result, and admin
clients pointed at a FakeBilling whose sleep is a recorder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bridge.admin.reconcile import anthropic, openai
from bridge.admin.reconcile.client import AdminClient, RetryPolicy, Secret
from tests.support.fake_billing import ANTHROPIC_KEY, OPENAI_KEY, FakeBilling

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
TODAY = date(2025, 6, 15)
D = [date(2025, 6, 1) + timedelta(days=n) for n in range(15)]  # D[0] = June 1 ... D[14] = today
LINES = """
    SELECT provider, report, day, model, account, user_ref, line_item, requests, input_tokens,
           output_tokens, cache_read_tokens, cache_write_tokens, cost_usd
    FROM billing_lines ORDER BY provider, report, day, model, account, user_ref, line_item
"""


def usage_result(
    model: str = "claude-sonnet-4-5", key: str = "apikey_01", scale: int = 1
) -> dict[str, object]:
    return {
        "model": model,
        "api_key_id": key,
        "workspace_id": "wrkspc_01",
        "uncached_input_tokens": 100 * scale,
        "cache_read_input_tokens": 50 * scale,
        "cache_creation": {"ephemeral_5m_input_tokens": 7 * scale, "ephemeral_1h_input_tokens": 3 * scale},
        "output_tokens": 20 * scale,
        "server_tool_use": {"web_search_requests": 0},
        "service_tier": None,
        "context_window": None,
    }


def clients(
    fake: FakeBilling,
    sleeps: list[float],
    attempts: int = 5,
    keys: tuple[str, str] = (ANTHROPIC_KEY, OPENAI_KEY),
) -> tuple[AdminClient, AdminClient]:
    retry = RetryPolicy(attempts=attempts, backoff=0.5)
    return (
        anthropic.make_client(Secret(keys[0]), fake.url, retry=retry, sleep=sleeps.append, timeout=5),
        openai.make_client(Secret(keys[1]), fake.url, retry=retry, sleep=sleeps.append, timeout=5),
    )
