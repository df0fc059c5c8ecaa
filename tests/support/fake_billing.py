"""A local fake of Anthropic's and OpenAI's admin report APIs, for the reconcile tests.

One loopback HTTP server (127.0.0.1, an ephemeral port) serves both providers' paths, in the
request and response shapes their references document:

- Anthropic Usage & Cost Admin API:
  https://platform.claude.com/docs/en/api/admin-api/usage-cost/get-messages-usage-report
  https://platform.claude.com/docs/en/api/admin-api/usage-cost/get-cost-report
  https://platform.claude.com/docs/en/api/resources/admin/subresources/usage_and_cost
  (query `starting_at`/`ending_at` RFC 3339, `bucket_width`, `group_by[]`, `limit` <= 31
  daily buckets, `page`; buckets `{starting_at, ending_at, results}`; `has_more`,
  `next_page`; cost `amount` a decimal string in cents)
- Claude Code Analytics API:
  https://platform.claude.com/docs/en/api/admin-api/claude-code/get-claude-code-usage-report
  (query `starting_at=YYYY-MM-DD`, `limit` <= 1000 records, `page`; records with `actor`,
  `model_breakdown[].tokens`, `estimated_cost.amount` in cents)
- Anthropic errors (https://platform.claude.com/docs/en/api/errors): `x-api-key` and
  `anthropic-version` required; `{"type": "error", "error": {"type": ..., "message": ...}}`.
- OpenAI Usage API, completions:
  https://platform.openai.com/docs/api-reference/usage/completions
  and Costs: https://platform.openai.com/docs/api-reference/usage/costs
  (query `start_time`/`end_time` Unix seconds, `bucket_width`, repeated `group_by`, `limit`,
  `page`; `{"object": "page", "data": [{"object": "bucket", "start_time", "end_time",
  "results"}], "has_more", "next_page"}`; costs `amount: {value, currency}` in dollars)
- OpenAI errors: `Authorization: Bearer` required; `{"error": {"message", "type", "param",
  "code"}}`. The real 401 message quotes a masked copy of the key it got; this fake quotes the
  key whole, so the tests prove the client never repeats what a provider echoes.

Tests load figures per day (`set_anthropic_usage(day, [...])` ...), change them between two
pulls (a late correction), script 429s (`throttle(n, retry_after)`, `always_throttle`), and
read back every request (`requests`). Pages hold `page_size` buckets (or records) at most, so
a few days already paginate. The server is bounded: it answers at most `max_requests`
requests (then 503) and shuts itself down after `lifetime` seconds; `FakeBilling` is a
context manager that starts and stops it.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ANTHROPIC_KEY = "sk-ant-admin01-FAKEKEYfakekeyFAKEKEY0123456789abcdefABCDEF-0123456789"
OPENAI_KEY = "sk-admin-FAKEopenaiKEY0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"

ANTHROPIC_USAGE_GROUPS = {
    "api_key_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
    "speed",
    "account_id",
    "service_account_id",
}
ANTHROPIC_COST_GROUPS = {"workspace_id", "description"}
OPENAI_USAGE_GROUPS = {"project_id", "user_id", "api_key_id", "model", "batch", "service_tier"}
OPENAI_COST_GROUPS = {"project_id", "line_item", "api_key_id"}


@dataclass
class Seen:
    """One request the fake answered: path, query (lists of values), headers, status."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int


@dataclass
class _State:
    anthropic_key: str
    openai_key: str
    page_size: int
    anthropic_usage: dict[date, list[dict[str, Any]]] = field(default_factory=dict)
    anthropic_cost: dict[date, list[dict[str, Any]]] = field(default_factory=dict)
    claude_code: dict[date, list[dict[str, Any]]] = field(default_factory=dict)
    openai_usage: dict[date, list[dict[str, Any]]] = field(default_factory=dict)
    openai_costs: dict[date, list[dict[str, Any]]] = field(default_factory=dict)
    throttle_left: int = 0
    always_throttle: bool = False
    retry_after: str | None = "1"
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _BadRequest(Exception):
    pass


def _token(index: int) -> str:
    return "page_" + base64.urlsafe_b64encode(str(index).encode()).decode()


def _index(token: str | None) -> int:
    if token is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.removeprefix("page_")).decode())
    except ValueError:
        raise _BadRequest("invalid page token") from None


def _rfc3339(value: str | None, name: str) -> datetime:
    if not value:
        raise _BadRequest(f"{name}: field required")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _BadRequest(f"{name}: invalid RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise _BadRequest(f"{name}: timestamp needs a timezone")
    return moment.astimezone(UTC)


def _days(first: date, end: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((end - first).days)]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        anthropic = parts.path.startswith("/v1/organizations/")
        status, body, headers = self._answer(state, parts.path, query, anthropic)
        with state.lock:
            state.requests.append(Seen(parts.path, query, dict(self.headers.items()), status))
        self._send(status, body, headers)

    def _answer(
        self, state: _State, path: str, query: dict[str, list[str]], anthropic: bool
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with state.lock:
            self.server.answered += 1
            if self.server.answered > self.server.max_requests:
                return 503, _error(anthropic, "api_error", "fake: request budget spent"), {}
        # Authentication first, as the real APIs do.
        if anthropic:
            if self.headers.get("x-api-key") != state.anthropic_key:
                return 401, _error(True, "authentication_error", "invalid x-api-key"), {}
            if not self.headers.get("anthropic-version"):
                return 400, _error(True, "invalid_request_error", "anthropic-version header is required"), {}
        else:
            given = self.headers.get("authorization", "")
            if given != f"Bearer {state.openai_key}":
                shown = given.removeprefix("Bearer ")
                return (
                    401,
                    _error(
                        False,
                        "invalid_request_error",
                        f"Incorrect API key provided: {shown}. You can find your API key at "
                        "https://platform.openai.com/account/api-keys.",
                        code="invalid_api_key",
                    ),
                    {},
                )
        with state.lock:
            throttled = state.always_throttle or state.throttle_left > 0
            if state.throttle_left > 0:
                state.throttle_left -= 1
        if throttled:
            headers = {"retry-after": state.retry_after} if state.retry_after is not None else {}
            kind = "rate_limit_error" if anthropic else "requests"
            return 429, _error(anthropic, kind, "Rate limit exceeded; slow down"), headers
        try:
            routes = {
                "/v1/organizations/usage_report/messages": self._anthropic_buckets,
                "/v1/organizations/cost_report": self._anthropic_buckets,
                "/v1/organizations/usage_report/claude_code": self._claude_code,
                "/v1/organization/usage/completions": self._openai_buckets,
                "/v1/organization/costs": self._openai_buckets,
            }
            route = routes.get(path)
            if route is None:
                return 404, _error(anthropic, "not_found_error", f"no route {path}"), {}
            return 200, route(state, path, query), {}
        except _BadRequest as exc:
            return 400, _error(anthropic, "invalid_request_error", str(exc)), {}

    def _anthropic_buckets(self, state: _State, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        cost = path.endswith("cost_report")
        if "group_by" in query:
            raise _BadRequest("group_by: use group_by[]")
        allowed = ANTHROPIC_COST_GROUPS if cost else ANTHROPIC_USAGE_GROUPS
        for group in query.get("group_by[]", []):
            if group not in allowed:
                raise _BadRequest(f"group_by[]: unexpected value {group!r}")
        if query.get("bucket_width", ["1d"]) != ["1d"]:
            raise _BadRequest("this fake serves bucket_width=1d only")
        start = _rfc3339(query.get("starting_at", [None])[0], "starting_at")
        limit = int(query.get("limit", ["7"])[0])
        if not 1 <= limit <= 31:
            raise _BadRequest("limit: must be between 1 and 31 for 1d buckets")
        first = start.date() if start.time() == datetime.min.time() else start.date() + timedelta(days=1)
        if "ending_at" in query:
            end = _rfc3339(query["ending_at"][0], "ending_at").date()
        else:
            end = first + timedelta(days=limit)
        days = _days(first, end)
        offset = _index(query.get("page", [None])[0])
        size = min(limit, state.page_size)
        chosen = days[offset : offset + size]
        figures = state.anthropic_cost if cost else state.anthropic_usage
        with state.lock:
            data = [
                {
                    "starting_at": f"{day.isoformat()}T00:00:00Z",
                    "ending_at": f"{(day + timedelta(days=1)).isoformat()}T00:00:00Z",
                    "results": [dict(r) for r in figures.get(day, [])],
                }
                for day in chosen
            ]
        more = offset + size < len(days)
        return {"data": data, "has_more": more, "next_page": _token(offset + size) if more else None}

    def _claude_code(self, state: _State, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        raw = query.get("starting_at", [None])[0]
        if not raw:
            raise _BadRequest("starting_at: field required")
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise _BadRequest("starting_at: expected YYYY-MM-DD") from None
        limit = int(query.get("limit", ["20"])[0])
        if not 1 <= limit <= 1000:
            raise _BadRequest("limit: must be between 1 and 1000")
        offset = _index(query.get("page", [None])[0])
        size = min(limit, state.page_size)
        with state.lock:
            records = [dict(r, date=day.isoformat()) for r in state.claude_code.get(day, [])]
        more = offset + size < len(records)
        return {
            "data": records[offset : offset + size],
            "has_more": more,
            "next_page": _token(offset + size) if more else None,
        }

    def _openai_buckets(self, state: _State, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        costs = path.endswith("/costs")
        allowed = OPENAI_COST_GROUPS if costs else OPENAI_USAGE_GROUPS
        for group in query.get("group_by", []):
            if group not in allowed:
                raise _BadRequest(f"Invalid value for group_by: {group!r}")
        if query.get("bucket_width", ["1d"]) != ["1d"]:
            raise _BadRequest("this fake serves bucket_width=1d only")
        try:
            start = int(query["start_time"][0])
            end = int(query["end_time"][0]) if "end_time" in query else None
            limit = int(query.get("limit", ["7"])[0])
        except (KeyError, ValueError):
            raise _BadRequest("start_time (Unix seconds) is required; end_time/limit are integers") from None
        if not 1 <= limit <= (180 if costs else 31):
            raise _BadRequest("limit out of range")
        first = datetime.fromtimestamp(start, UTC).date()
        last = datetime.fromtimestamp(end, UTC).date() if end is not None else first + timedelta(days=limit)
        days = _days(first, last)
        offset = _index(query.get("page", [None])[0])
        size = min(limit, state.page_size)
        figures = state.openai_costs if costs else state.openai_usage
        kind = "organization.costs.result" if costs else "organization.usage.completions.result"
        with state.lock:
            data = [
                {
                    "object": "bucket",
                    "start_time": int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()),
                    "end_time": int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + 86400,
                    "results": [{"object": kind, **r} for r in figures.get(day, [])],
                }
                for day in days[offset : offset + size]
            ]
        more = offset + size < len(days)
        return {
            "object": "page",
            "data": data,
            "has_more": more,
            "next_page": _token(offset + size) if more else None,
        }


def _error(anthropic: bool, kind: str, message: str, code: str | None = None) -> dict[str, Any]:
    if anthropic:
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State, max_requests: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.max_requests = max_requests
        self.answered = 0


class FakeBilling:
    """Both providers' admin report APIs on one loopback port; a context manager."""

    def __init__(
        self,
        *,
        anthropic_key: str = ANTHROPIC_KEY,
        openai_key: str = OPENAI_KEY,
        page_size: int = 3,
        max_requests: int = 2000,
        lifetime: float = 120.0,
    ) -> None:
        self.state = _State(anthropic_key=anthropic_key, openai_key=openai_key, page_size=page_size)
        self._server = _Server(self.state, max_requests)
        self._lifetime = lifetime
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._timer = threading.Timer(lifetime, self._server.shutdown)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeBilling:
        self._thread.start()
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- figures ------------------------------------------------------------------------
    def set_anthropic_usage(self, day: date, results: list[dict[str, Any]]) -> None:
        with self.state.lock:
            self.state.anthropic_usage[day] = results

    def set_anthropic_cost(self, day: date, results: list[dict[str, Any]]) -> None:
        with self.state.lock:
            self.state.anthropic_cost[day] = results

    def set_claude_code(self, day: date, records: list[dict[str, Any]]) -> None:
        with self.state.lock:
            self.state.claude_code[day] = records

    def set_openai_usage(self, day: date, results: list[dict[str, Any]]) -> None:
        with self.state.lock:
            self.state.openai_usage[day] = results

    def set_openai_costs(self, day: date, results: list[dict[str, Any]]) -> None:
        with self.state.lock:
            self.state.openai_costs[day] = results

    # -- behaviour ----------------------------------------------------------------------
    def throttle(self, times: int, retry_after: str | None = "1") -> None:
        """Answer the next `times` authenticated requests 429, with this Retry-After."""
        with self.state.lock:
            self.state.throttle_left = times
            self.state.retry_after = retry_after

    def always_throttle(self, retry_after: str | None = "1") -> None:
        with self.state.lock:
            self.state.always_throttle = True
            self.state.retry_after = retry_after

    @property
    def requests(self) -> list[Seen]:
        with self.state.lock:
            return list(self.state.requests)

    def requests_to(self, path: str) -> Iterator[Seen]:
        return (seen for seen in self.requests if seen.path == path)
