"""Where alert notices go: stdout, a generic JSON webhook, a Slack-compatible webhook.

A `Notice` is one event of one alert: `firing` (once per alert), `resolved` (once, when it
stops firing) or `test` (`agent-spend alerts test`). Each destination turns it into its own
shape and sends it:

* stdout: one line, `FIRING [warning] runaway_session sess-1 (2025-06-02): ...`;
* a webhook: a JSON object (`id`, `event`, `kind`, `subject`, `period`, `severity`,
  `summary`, `value`, `threshold`, `details`, `fired_at`, `resolved_at`) POSTed with an
  `Idempotency-Key: <id>` header, so a receiver can drop the rare repeat (docs/alerts.md);
* a Slack-compatible webhook (Slack, Mattermost, Rocket.Chat, Discord's /slack): `{"text": ...}`.

Webhook requests reuse reconcile's `RetryPolicy` over httpx2: a 408, 429 or 5xx (and a
connection that failed or timed out) is tried again up to `attempts` times in all, waiting
what `Retry-After` asks (capped) or an exponential backoff; any other non-2xx is a failure
at once. URLs are secrets (a Slack webhook URL is a credential): a destination is known by
its kind and a sha256 prefix of its URL, shown by its host, and no message holds the URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx2

from bridge import config
from bridge.admin.reconcile.client import RetryPolicy

log = logging.getLogger(__name__)

Event = Literal["firing", "resolved", "test"]
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = "agent-spend-alerts"


def default_retry() -> RetryPolicy:
    """Tries per webhook request within one run (bridge/config.py ALERT_*)."""
    return RetryPolicy(
        attempts=config.ALERT_RETRY_ATTEMPTS,
        backoff=config.ALERT_BACKOFF_SECONDS,
        max_wait=config.ALERT_MAX_WAIT_SECONDS,
    )


@dataclass(frozen=True, slots=True)
class Alert:
    """One row of an alert view: what alerts, for which period, how badly and why."""

    kind: str
    subject: str
    period_key: str
    severity: str
    summary: str
    value: Decimal | None = None
    threshold: Decimal | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.subject, self.period_key)


@dataclass(frozen=True, slots=True)
class Notice:
    """One event of one alert, as sent to every destination."""

    event: Event
    alert: Alert
    fired_at: datetime
    resolved_at: datetime | None = None

    @property
    def id(self) -> str:
        """Stable across runs and runners: the receiver's deduplication key."""
        return "/".join((self.alert.kind, self.alert.subject, self.alert.period_key, self.event))


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def json_payload(notice: Notice) -> dict[str, Any]:
    """The generic webhook body."""
    alert = notice.alert
    return {
        "id": notice.id,
        "source": "agent-spend",
        "event": notice.event,
        "kind": alert.kind,
        "subject": alert.subject,
        "period": alert.period_key,
        "severity": alert.severity,
        "summary": alert.summary,
        "value": _number(alert.value),
        "threshold": _number(alert.threshold),
        "details": alert.details,
        "fired_at": notice.fired_at.isoformat(),
        "resolved_at": notice.resolved_at.isoformat() if notice.resolved_at else None,
    }


_ICON = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


def slack_text(notice: Notice) -> str:
    """One Slack mrkdwn message."""
    alert = notice.alert
    where = f"`{alert.subject}` ({alert.period_key})"
    if notice.event == "resolved":
        return f":white_check_mark: *Resolved* {alert.kind} {where}: {alert.summary}"
    if notice.event == "test":
        return f":information_source: *Test* from agent-spend: {alert.summary}"
    icon = _ICON.get(alert.severity, ":warning:")
    return f"{icon} *{alert.severity.upper()}* {alert.kind} {where}: {alert.summary}"


def stdout_line(notice: Notice) -> str:
    """One line for a terminal or a cron mail."""
    alert = notice.alert
    return (
        f"{notice.event.upper():8} [{alert.severity}] {alert.kind} {alert.subject} "
        f"({alert.period_key}): {alert.summary}"
    )


class DeliveryError(Exception):
    """A destination did not take a notice (after the run's retries); the message holds no URL."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class Destination:
    """Somewhere notices go; `id` is stored in alert_deliveries, `label` shown in reports."""

    id: str
    label: str

    def send(self, notice: Notice) -> int:
        """Deliver one notice; returns the tries it took, raises DeliveryError."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""


class StdoutDestination(Destination):
    """Print each notice as one line."""

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        self.id = "stdout"
        self.label = "stdout"
        self._write = write or (lambda line: print(line, file=sys.stdout, flush=True))

    def send(self, notice: Notice) -> int:
        self._write(stdout_line(notice))
        return 1


class WebhookDestination(Destination):
    """POST each notice to a URL as generic JSON (`style='json'`) or as Slack's `{"text": ...}`."""

    def __init__(
        self,
        url: str,
        style: Literal["json", "slack"] = "json",
        *,
        retry: RetryPolicy | None = None,
        timeout: float = config.ALERT_TIMEOUT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a webhook URL must be http:// or https:// with a host")
        self.url = url
        self.style = style
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.id = f"{style}:{digest}"
        port = f":{parts.port}" if parts.port else ""
        self.label = f"{style} webhook {parts.hostname}{port}"
        self._retry = retry or default_retry()
        self._sleep = sleep
        self._http = httpx2.Client(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )

    def __repr__(self) -> str:
        return f"WebhookDestination({self.label!r})"

    def close(self) -> None:
        self._http.close()

    def body(self, notice: Notice) -> dict[str, Any]:
        return {"text": slack_text(notice)} if self.style == "slack" else json_payload(notice)

    def _clean(self, text: str) -> str:
        return text.replace(self.url, self.label)

    def send(self, notice: Notice) -> int:
        content = json.dumps(self.body(notice), default=str).encode()
        headers = {"content-type": "application/json", "idempotency-key": notice.id}
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.post(self.url, content=content, headers=headers)
            except httpx2.TransportError as exc:
                problem = self._clean(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
                if attempt >= self._retry.attempts:
                    raise DeliveryError(f"{self.label}: {problem} ({attempt} tries)", attempt) from None
                wait = self._retry.wait_for(attempt, None)
                log.warning("%s: %s; retry in %.1fs", self.label, problem, wait)
                self._sleep(wait)
                continue
            status = response.status_code
            if 200 <= status < 300:
                return attempt
            if status in RETRY_STATUSES and attempt < self._retry.attempts:
                wait = self._retry.wait_for(attempt, response.headers.get("retry-after"))
                log.info("%s answered %d; retry %d in %.1fs", self.label, status, attempt, wait)
                self._sleep(wait)
                continue
            raise DeliveryError(f"{self.label}: answered HTTP {status} ({attempt} tries)", attempt)
