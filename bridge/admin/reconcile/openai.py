"""OpenAI's organization Usage and Costs APIs as billing lines.

Shapes as documented (docs/reconcile.md cites each page):

- GET /v1/organization/usage/completions, `start_time`/`end_time` (Unix seconds; end
  exclusive), `bucket_width=1d`, `group_by=model&group_by=project_id&group_by=user_id&
  group_by=api_key_id`, `limit` (at most 31 daily buckets), `page`. A bucket has
  `start_time` and `results`; a result has `input_tokens` (cached tokens included),
  `input_cached_tokens`, `output_tokens`, `num_model_requests` and the grouped fields.
  Report 'usage': input = input_tokens - input_cached_tokens, cache_read =
  input_cached_tokens, cache_write 0 (the report has no cache-write count), requests =
  num_model_requests, account = api_key_id (else project_id), user_ref = user_id.
- GET /v1/organization/costs, same window, `group_by=project_id&group_by=line_item`. A
  result's `amount` is `{value, currency}`: "the numeric value of the cost" in a lowercase
  ISO-4217 currency ("usd"), i.e. dollars (the documented example is 0.06 usd for a day).
  The JSON number is read as an exact Decimal, never a float. Report 'cost', tokens 0;
  line_item as reported ("gpt-4o-2024-08-06, input"), and the model is the part before the
  last ", " when that part is one model id (no spaces), else ''.

Every request carries `Authorization: Bearer <admin key>` (an organization admin key).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.admin.reconcile.client import AdminClient, AdminResponseError, RetryPolicy, Secret
from bridge.admin.reconcile.pull import BillingLine, ReportSource

PROVIDER = "openai"
DEFAULT_BASE_URL = "https://api.openai.com"
USAGE_PATH = "/v1/organization/usage/completions"
COSTS_PATH = "/v1/organization/costs"
MAX_DAILY_BUCKETS = 31
USAGE_GROUP_BY = ("model", "project_id", "user_id", "api_key_id")
COSTS_GROUP_BY = ("project_id", "line_item")
_LINE_ITEM_MODEL = re.compile(r"^(\S+), .+$")


def auth_headers(key: Secret) -> dict[str, str]:
    return {"authorization": f"Bearer {key.reveal()}"}


def make_client(
    key: Secret,
    base_url: str = DEFAULT_BASE_URL,
    *,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], None] | None = None,
) -> AdminClient:
    """An AdminClient for OpenAI's admin endpoints (base URL overridable for a proxy or fake)."""
    return AdminClient(
        name=PROVIDER,
        base_url=base_url,
        key=key,
        auth_headers=auth_headers,
        retry=retry,
        timeout=timeout,
        sleep=sleep,
    )


def epoch(day: date) -> int:
    return int(datetime.combine(day, time(), UTC).timestamp())


def bucket_day(value: object, where: str) -> date:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise AdminResponseError(f"{PROVIDER}: {where}: start_time is not Unix seconds")
    return datetime.fromtimestamp(int(value), UTC).date()


def count(obj: dict[str, Any], field: str, where: str) -> int:
    """A non-negative whole count; absent or null is 0."""
    value = obj.get(field)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value != int(value) or value < 0:
        raise AdminResponseError(f"{PROVIDER}: {where}: {field} is not a non-negative whole number")
    return int(value)


def dollars(amount: object, where: str) -> Decimal:
    """`amount.value` (dollars, a JSON number read as Decimal) after checking the currency."""
    if not isinstance(amount, dict):
        raise AdminResponseError(f"{PROVIDER}: {where}: amount is not an object")
    currency = str(amount.get("currency") or "usd")
    if currency.lower() != "usd":
        raise AdminResponseError(f"{PROVIDER}: {where}: currency {currency[:10]!r}, only usd is stored")
    value = amount.get("value")
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise AdminResponseError(f"{PROVIDER}: {where}: amount.value is not a number")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise AdminResponseError(f"{PROVIDER}: {where}: amount.value is not a number") from None
    if not result.is_finite():
        raise AdminResponseError(f"{PROVIDER}: {where}: amount.value is not finite")
    return result


def model_of_line_item(line_item: str) -> str:
    """'gpt-4o-2024-08-06, input' -> 'gpt-4o-2024-08-06'; 'Image models' -> ''."""
    match = _LINE_ITEM_MODEL.match(line_item)
    return match.group(1) if match else ""


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _window(first: date, last: date, group_by: tuple[str, ...]) -> dict[str, str | int | list[str]]:
    return {
        "start_time": epoch(first),
        "end_time": epoch(last + timedelta(days=1)),
        "bucket_width": "1d",
        "group_by": list(group_by),
        "limit": MAX_DAILY_BUCKETS,
    }


def _buckets(page: dict[str, Any], where: str) -> list[tuple[date, list[dict[str, Any]]]]:
    found = []
    for index, bucket in enumerate(page["data"]):
        here = f"{where} bucket {index}"
        # The reference names the list 'results'; some renderings of it say 'result'.
        results = bucket.get("results", bucket.get("result")) if isinstance(bucket, dict) else None
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise AdminResponseError(f"{PROVIDER}: {here}: expected an object with 'results' (a list)")
        found.append((bucket_day(bucket.get("start_time"), here), results))
    return found


class UsageReport:
    """OpenAI's completions usage, per day, model, project, user and API key."""

    provider = PROVIDER
    report = "usage"

    def __init__(self, client: AdminClient) -> None:
        self.client = client

    def fetch(self, first: date, last: date) -> list[BillingLine]:
        lines = []
        for page in self.client.pages(USAGE_PATH, _window(first, last, USAGE_GROUP_BY)):
            for day, results in _buckets(page, USAGE_PATH):
                for result in results:
                    where = f"{USAGE_PATH} {day}"
                    total_input = count(result, "input_tokens", where)
                    cached = count(result, "input_cached_tokens", where)
                    if cached > total_input:
                        raise AdminResponseError(
                            f"{PROVIDER}: {where}: input_cached_tokens exceeds input_tokens"
                        )
                    lines.append(
                        BillingLine(
                            provider=PROVIDER,
                            report=self.report,
                            day=day,
                            model=_text(result.get("model")),
                            account=_text(result.get("api_key_id") or result.get("project_id")),
                            user_ref=_text(result.get("user_id")),
                            requests=count(result, "num_model_requests", where),
                            input_tokens=total_input - cached,
                            output_tokens=count(result, "output_tokens", where),
                            cache_read_tokens=cached,
                        )
                    )
        return lines


class CostsReport:
    """OpenAI's costs, per day, project and line item, in dollars."""

    provider = PROVIDER
    report = "cost"

    def __init__(self, client: AdminClient) -> None:
        self.client = client

    def fetch(self, first: date, last: date) -> list[BillingLine]:
        lines = []
        for page in self.client.pages(COSTS_PATH, _window(first, last, COSTS_GROUP_BY)):
            for day, results in _buckets(page, COSTS_PATH):
                for result in results:
                    where = f"{COSTS_PATH} {day}"
                    line_item = _text(result.get("line_item"))
                    lines.append(
                        BillingLine(
                            provider=PROVIDER,
                            report=self.report,
                            day=day,
                            model=model_of_line_item(line_item),
                            account=_text(result.get("project_id")),
                            line_item=line_item,
                            cost_usd=dollars(result.get("amount"), where),
                        )
                    )
        return lines


def sources(client: AdminClient) -> list[ReportSource]:
    """The two OpenAI reports `reconcile pull` writes, in order."""
    return [UsageReport(client), CostsReport(client)]
