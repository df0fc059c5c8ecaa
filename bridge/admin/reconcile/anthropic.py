"""Anthropic's Admin API reports as billing lines: messages usage, cost, Claude Code analytics.

Shapes as documented (docs/reconcile.md cites each page):

- GET /v1/organizations/usage_report/messages, `starting_at`/`ending_at` (RFC 3339),
  `bucket_width=1d`, `group_by[]=model&group_by[]=api_key_id&group_by[]=workspace_id`,
  `limit` (at most 31 daily buckets), `page`. Each bucket has `starting_at` and `results`;
  a result has `uncached_input_tokens`, `cache_read_input_tokens`,
  `cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens`, `output_tokens`
  and the grouped `model`, `api_key_id`, `workspace_id` (null when not grouped, or the
  default workspace). Report 'usage'; no request count; cost_usd NULL.
- GET /v1/organizations/cost_report, same window, `group_by[]=workspace_id&group_by[]=description`.
  A result's `amount` is a decimal string "in lowest currency units (e.g. cents)": "123.45"
  USD is $1.2345, so cost_usd = amount / 100, exactly. Report 'cost', tokens 0.
- GET /v1/organizations/usage_report/claude_code, `starting_at=YYYY-MM-DD` (one day per
  call), `limit` (at most 1000 records), `page`. A record names its `actor` (an
  `email_address` or an `api_key_name`: user_ref) and a `model_breakdown` of `tokens`
  (`input`, `output`, `cache_read`, `cache_creation`) and `estimated_cost.amount`, "in minor
  currency units (e.g., cents for USD)": cost_usd = amount / 100. Report 'claude_code';
  line_item is the record's `customer_type` ('api' or 'subscription').

Every request carries `x-api-key` (an Admin API key, `sk-ant-admin...`) and
`anthropic-version: 2023-06-01`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.admin.reconcile.client import (
    AdminClient,
    AdminResponseError,
    RetryPolicy,
    Secret,
)
from bridge.admin.reconcile.pull import BillingLine, ReportSource

PROVIDER = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
USAGE_PATH = "/v1/organizations/usage_report/messages"
COST_PATH = "/v1/organizations/cost_report"
CLAUDE_CODE_PATH = "/v1/organizations/usage_report/claude_code"
MAX_DAILY_BUCKETS = 31
CLAUDE_CODE_PAGE = 1000
USAGE_GROUP_BY = ("model", "api_key_id", "workspace_id")
COST_GROUP_BY = ("workspace_id", "description")


def auth_headers(key: Secret) -> dict[str, str]:
    return {"x-api-key": key.reveal(), "anthropic-version": API_VERSION}


def make_client(
    key: Secret,
    base_url: str = DEFAULT_BASE_URL,
    *,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], None] | None = None,
) -> AdminClient:
    """An AdminClient for Anthropic's Admin API (base URL overridable for a proxy or fake)."""
    return AdminClient(
        name=PROVIDER,
        base_url=base_url,
        key=key,
        auth_headers=auth_headers,
        retry=retry,
        timeout=timeout,
        sleep=sleep,
    )


def rfc3339(day: date) -> str:
    return datetime.combine(day, time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bucket_day(value: object, where: str) -> date:
    """The UTC day a bucket's `starting_at` (RFC 3339) or a record's `date` names."""
    if not isinstance(value, str):
        raise AdminResponseError(f"{PROVIDER}: {where}: expected a date string, got {type(value).__name__}")
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise AdminResponseError(f"{PROVIDER}: {where}: not an RFC 3339 date: {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def count(obj: dict[str, Any], field: str, where: str) -> int:
    """A non-negative whole token count; absent or null is 0."""
    value = obj.get(field)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value != int(value) or value < 0:
        raise AdminResponseError(f"{PROVIDER}: {where}: {field} is not a non-negative whole number")
    return int(value)


def cents_to_dollars(value: object, where: str) -> Decimal:
    """An amount in cents (a decimal string or a JSON number) as exact dollars."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise AdminResponseError(f"{PROVIDER}: {where}: amount is not a number")
    try:
        cents = Decimal(str(value).strip())
    except InvalidOperation:
        raise AdminResponseError(f"{PROVIDER}: {where}: amount {str(value)[:40]!r} is not a number") from None
    if not cents.is_finite():
        raise AdminResponseError(f"{PROVIDER}: {where}: amount is not finite")
    return cents / 100


def check_usd(obj: dict[str, Any], where: str) -> None:
    currency = obj.get("currency", "USD")
    if str(currency).upper() != "USD":
        raise AdminResponseError(f"{PROVIDER}: {where}: currency {str(currency)[:10]!r}, only USD is stored")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _buckets(page: dict[str, Any], where: str) -> list[tuple[date, list[dict[str, Any]]]]:
    found = []
    for index, bucket in enumerate(page["data"]):
        here = f"{where} bucket {index}"
        if not isinstance(bucket, dict) or not isinstance(bucket.get("results"), list):
            raise AdminResponseError(f"{PROVIDER}: {here}: expected an object with 'results' (a list)")
        results = bucket["results"]
        if not all(isinstance(result, dict) for result in results):
            raise AdminResponseError(f"{PROVIDER}: {here}: a result is not an object")
        found.append((bucket_day(bucket.get("starting_at"), here), results))
    return found


def _window(first: date, last: date) -> dict[str, str | int]:
    return {
        "starting_at": rfc3339(first),
        "ending_at": rfc3339(last + timedelta(days=1)),
        "bucket_width": "1d",
        "limit": MAX_DAILY_BUCKETS,
    }


class UsageReport:
    """Anthropic's messages usage report, per day, model, API key and workspace."""

    provider = PROVIDER
    report = "usage"

    def __init__(self, client: AdminClient) -> None:
        self.client = client

    def fetch(self, first: date, last: date) -> list[BillingLine]:
        params = {**_window(first, last), "group_by[]": list(USAGE_GROUP_BY)}
        lines = []
        for page in self.client.pages(USAGE_PATH, params):
            for day, results in _buckets(page, USAGE_PATH):
                for result in results:
                    where = f"{USAGE_PATH} {day}"
                    cache = result.get("cache_creation") or {}
                    if not isinstance(cache, dict):
                        raise AdminResponseError(f"{PROVIDER}: {where}: cache_creation is not an object")
                    lines.append(
                        BillingLine(
                            provider=PROVIDER,
                            report=self.report,
                            day=day,
                            model=_text(result.get("model")),
                            # An API key belongs to one workspace; the key is the finer grouping.
                            account=_text(result.get("api_key_id") or result.get("workspace_id")),
                            input_tokens=count(result, "uncached_input_tokens", where),
                            output_tokens=count(result, "output_tokens", where),
                            cache_read_tokens=count(result, "cache_read_input_tokens", where),
                            cache_write_tokens=count(cache, "ephemeral_5m_input_tokens", where)
                            + count(cache, "ephemeral_1h_input_tokens", where),
                        )
                    )
        return lines


def cost_line_item(result: dict[str, Any]) -> str:
    """The cost line: its `description`, else its cost/token type, tier and context window."""
    if result.get("description"):
        return str(result["description"])
    parts = (result.get(f) for f in ("cost_type", "token_type", "service_tier", "context_window"))
    return ", ".join(str(p) for p in parts if p)


class CostReport:
    """Anthropic's cost report, per day, workspace and cost line (description)."""

    provider = PROVIDER
    report = "cost"

    def __init__(self, client: AdminClient) -> None:
        self.client = client

    def fetch(self, first: date, last: date) -> list[BillingLine]:
        params = {**_window(first, last), "group_by[]": list(COST_GROUP_BY)}
        lines = []
        for page in self.client.pages(COST_PATH, params):
            for day, results in _buckets(page, COST_PATH):
                for result in results:
                    where = f"{COST_PATH} {day}"
                    check_usd(result, where)
                    lines.append(
                        BillingLine(
                            provider=PROVIDER,
                            report=self.report,
                            day=day,
                            model=_text(result.get("model")),
                            account=_text(result.get("workspace_id")),
                            line_item=cost_line_item(result),
                            cost_usd=cents_to_dollars(result.get("amount"), where),
                        )
                    )
        return lines


class ClaudeCodeReport:
    """Anthropic's Claude Code analytics: per day, user (or API key) and model, estimated cost."""

    provider = PROVIDER
    report = "claude_code"

    def __init__(self, client: AdminClient) -> None:
        self.client = client

    def fetch(self, first: date, last: date) -> list[BillingLine]:
        lines = []
        day = first
        while day <= last:
            params: dict[str, str | int] = {"starting_at": day.isoformat(), "limit": CLAUDE_CODE_PAGE}
            for page in self.client.pages(CLAUDE_CODE_PATH, params):
                for index, record in enumerate(page["data"]):
                    lines.extend(self._record_lines(day, record, f"{CLAUDE_CODE_PATH} {day} record {index}"))
            day += timedelta(days=1)
        return lines

    def _record_lines(self, day: date, record: object, where: str) -> list[BillingLine]:
        if not isinstance(record, dict):
            raise AdminResponseError(f"{PROVIDER}: {where}: a record is not an object")
        actor = record.get("actor") or {}
        if not isinstance(actor, dict):
            raise AdminResponseError(f"{PROVIDER}: {where}: actor is not an object")
        user = _text(actor.get("email_address") or actor.get("api_key_name"))
        breakdown = record.get("model_breakdown") or []
        if not isinstance(breakdown, list):
            raise AdminResponseError(f"{PROVIDER}: {where}: model_breakdown is not a list")
        lines = []
        for entry in breakdown:
            if not isinstance(entry, dict):
                raise AdminResponseError(f"{PROVIDER}: {where}: a model_breakdown entry is not an object")
            tokens = entry.get("tokens") or {}
            cost = entry.get("estimated_cost")
            if not isinstance(tokens, dict) or not (cost is None or isinstance(cost, dict)):
                raise AdminResponseError(f"{PROVIDER}: {where}: tokens/estimated_cost are not objects")
            if cost is not None:
                check_usd(cost, where)
            lines.append(
                BillingLine(
                    provider=PROVIDER,
                    report=self.report,
                    day=day,
                    model=_text(entry.get("model")),
                    user_ref=user,
                    line_item=_text(record.get("customer_type")),
                    input_tokens=count(tokens, "input", where),
                    output_tokens=count(tokens, "output", where),
                    cache_read_tokens=count(tokens, "cache_read", where),
                    cache_write_tokens=count(tokens, "cache_creation", where),
                    cost_usd=None if cost is None else cents_to_dollars(cost.get("amount"), where),
                )
            )
        return lines


def sources(client: AdminClient) -> list[ReportSource]:
    """The three Anthropic reports `reconcile pull` writes, in order."""
    return [UsageReport(client), CostReport(client), ClaudeCodeReport(client)]
