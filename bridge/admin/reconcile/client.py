"""The HTTP side of `agent-spend reconcile`: one GET with bounded retries, and pagination.

Both providers' admin reports share one shape: a JSON page with `data`, `has_more` and
`next_page`, fetched again with `page=<next_page>` until `has_more` is false. `AdminClient`
does that for both, over httpx2 (the maintained continuation of httpx, already installed for
genai-prices), with a timeout on every request.

Retries are a small hand-written loop rather than a library: a 429 (and 5xx / 529
overloaded, and a connection that failed or timed out) is retried at most
`RetryPolicy.attempts` times in all, waiting what the response's `Retry-After` asks (capped
at `max_wait`) or else an exponential backoff; the last failure becomes an error. That is
all the policy there is, and a loop shows it more plainly than a decorator's configuration.

The admin key is a `Secret`: its repr and str are masked, it is sent only as a header, and
every message this module raises passes through `redact()`, so neither the key nor any part
of an error body that echoes it (OpenAI's "Incorrect API key provided: ...") reaches a log,
an exception or `billing_sync.last_error`. httpx2 logs request lines, never headers.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2

from bridge import config

log = logging.getLogger(__name__)

# Defaults of `agent-spend reconcile pull` (its options show them): bridge/config.py.
TIMEOUT_SECONDS = config.RECONCILE_TIMEOUT_SECONDS
RETRY_ATTEMPTS = config.RECONCILE_RETRY_ATTEMPTS
BACKOFF_SECONDS = config.RECONCILE_BACKOFF_SECONDS
MAX_WAIT_SECONDS = config.RECONCILE_MAX_WAIT_SECONDS
MAX_PAGES = 10_000  # a runaway next_page loop ends here

# Printable ASCII without spaces: what an HTTP header value may carry safely. A key with a
# newline (a key file saved with CRLF is stripped first) would otherwise make httpx2 raise
# an error that quotes the header value.
_KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")
# 5xx answers worth retrying; 529 is Anthropic's "overloaded".
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})
Params = Mapping[str, str | int | Sequence[str]]


class Secret:
    """An admin key: sent as a header, never shown (repr and str are masked)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value:
            raise KeyFormatError("the admin key is empty")
        if not _KEY_CHARS.match(value):
            raise KeyFormatError("the admin key contains spaces or control characters")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def redact(text: str, secrets: Sequence[Secret]) -> str:
    """`text` with every secret (and any 8+ character piece of one) replaced by `***`."""
    for secret in secrets:
        value = secret.reveal()
        text = text.replace(value, "***")
        # Error bodies may echo a key partly masked ("sk-abc***xyz"): drop long fragments too.
        for size in (16, 8):
            for start in range(max(len(value) - size + 1, 0)):
                fragment = value[start : start + size]
                if fragment in text:
                    text = text.replace(fragment, "***")
    return text


class AdminApiError(Exception):
    """A provider's admin API could not give us a report; the message never holds a key."""


class KeyFormatError(AdminApiError, ValueError):
    """An admin key that cannot be sent as a header (empty, or with spaces/control characters)."""


class AdminAuthError(AdminApiError):
    """The provider refused the key (401/403): the wrong key, or not an admin key."""


class RateLimitedError(AdminApiError):
    """The provider kept answering 429 (or 5xx) after every retry we allow."""


class AdminResponseError(AdminApiError):
    """The provider answered something that is not the documented report shape."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long one request is retried after a 429, 5xx or transport failure."""

    attempts: int = RETRY_ATTEMPTS  # tries in all, the first included
    backoff: float = BACKOFF_SECONDS  # first wait without Retry-After; doubles per retry
    max_wait: float = MAX_WAIT_SECONDS  # no single wait is longer, whatever Retry-After says

    def wait_for(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before try `attempt + 1`: the server's Retry-After, else backoff."""
        asked = _parse_retry_after(retry_after)
        wait = asked if asked is not None else self.backoff * (2 ** (attempt - 1))
        return max(0.0, min(wait, self.max_wait))


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (RFC 9110: delay-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class AdminClient:
    """GETs one provider's admin reports: auth headers, timeouts, retries and pagination."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        key: Secret,
        auth_headers: Callable[[Secret], dict[str, str]],
        retry: RetryPolicy | None = None,
        timeout: float | None = None,  # None: TIMEOUT_SECONDS
        sleep: Callable[[float], None] | None = None,  # None: time.sleep
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._key = key
        self._retry = retry or RetryPolicy()
        self._sleep = sleep or time.sleep
        timeout = TIMEOUT_SECONDS if timeout is None else timeout
        self._http = httpx2.Client(
            base_url=self.base_url,
            headers={**auth_headers(key), "accept": "application/json"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"AdminClient({self.name!r}, {self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, cls: type[AdminApiError], message: str) -> AdminApiError:
        return cls(redact(f"{self.name}: {message}", [self._key]))

    def get_json(self, path: str, params: Params) -> dict[str, Any]:
        """One GET, retried per the policy; the JSON object it answered (numbers as Decimal)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.get(path, params=dict(params))
            except httpx2.TransportError as exc:
                # The exception's text names the host and the OS error, never the headers.
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if attempt >= self._retry.attempts:
                    raise self._error(
                        AdminApiError, f"GET {path} failed after {attempt} tries ({problem})"
                    ) from None
                wait = self._retry.wait_for(attempt, None)
                log.warning("%s: GET %s: %s; retrying in %.1fs", self.name, path, problem, wait)
                self._sleep(wait)
                continue
            status = response.status_code
            if status in _RETRY_STATUSES:
                if attempt >= self._retry.attempts:
                    raise self._error(
                        RateLimitedError,
                        f"GET {path} answered {status} {_describe(response)} {attempt} times; "
                        f"giving up (try again later)",
                    )
                wait = self._retry.wait_for(attempt, response.headers.get("retry-after"))
                log.info(
                    "%s: GET %s answered %d; retry %d/%d in %.1fs",
                    self.name,
                    path,
                    status,
                    attempt,
                    self._retry.attempts - 1,
                    wait,
                )
                self._sleep(wait)
                continue
            if status in (401, 403):
                raise self._error(
                    AdminAuthError,
                    f"GET {path} answered {status}: the key was refused (is it an admin key "
                    f"of this organization?) {_describe(response)}",
                )
            if status != 200:
                raise self._error(AdminApiError, f"GET {path} answered {status} {_describe(response)}")
            try:
                body = json.loads(response.content, parse_float=Decimal)
            except ValueError:
                raise self._error(AdminResponseError, f"GET {path}: the answer is not JSON") from None
            if not isinstance(body, dict):
                raise self._error(AdminResponseError, f"GET {path}: the answer is not a JSON object")
            return body

    def pages(self, path: str, params: Params, *, max_pages: int = MAX_PAGES) -> Iterator[dict[str, Any]]:
        """Every page of a paginated report: follow `next_page` while `has_more` is true."""
        token: str | None = None
        seen: set[str] = set()
        for number in range(1, max_pages + 1):
            query = dict(params)
            if token is not None:
                query["page"] = token
            log.debug("%s: GET %s page %d", self.name, path, number)
            page = self.get_json(path, query)
            if not isinstance(page.get("data"), list) or not isinstance(page.get("has_more"), bool):
                raise self._error(
                    AdminResponseError, f"GET {path}: expected 'data' (a list) and 'has_more' (true/false)"
                )
            yield page
            if not page["has_more"]:
                return
            token = page.get("next_page")
            if not isinstance(token, str) or not token or token in seen:
                raise self._error(
                    AdminResponseError, f"GET {path}: has_more is true but next_page is missing or repeats"
                )
            seen.add(token)
        raise self._error(AdminResponseError, f"GET {path}: more than {max_pages} pages; stopped")


def _describe(response: httpx2.Response) -> str:
    """`(type: message)` from either provider's error body, or '' — redacted by the caller."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    kind = error.get("type") or error.get("code") or "error"
    message = str(error.get("message") or "")[:300]
    return f"({kind}: {message})" if message else f"({kind})"
