"""The read-only JSON API as a WSGI application: the reports of bridge/admin/reports.py over HTTP.

Every request needs `Authorization: Bearer <token>` (compared in constant time against each
configured token); then `GET` on one of

    /api/v1/summary?period=30d | since=YYYY-MM-DD&until=YYYY-MM-DD   (+ filters)
    /api/v1/breakdown?by=model&period=30d                              (+ filters)
    /api/v1/budgets
    /api/v1/reports/{daily|weekly|monthly}?since=&until=&by=           (+ filters)
    /api/v1/reports/sessions?since=&until=&by=&limit=                  (+ filters)
    /api/v1/reports/chargeback?month=YYYY-MM&by=team|repo

Filters are `team`, `user`, `model`, `harness`, `repo`, `environment`, each repeated or
comma-separated. The documents are bridge.admin.report_format.as_json's, exactly what
`agent-spend report ... --format json` prints. Errors are JSON too: 400 naming the bad
parameter (an unknown one included), 401, 404, 405, and 503 when the database does not
answer. docs/api.md has examples.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import psycopg

from bridge import config
from bridge.admin import report_periods, reports
from bridge.admin.report_format import as_json

log = logging.getLogger(__name__)

PREFIX = "/api/v1/"
FILTERS = ("team", "user", "model", "harness", "repo", "environment")
RANGE = ("period", "since", "until")
DEFAULT_PERIOD = "30d"
Connect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
Clock = Callable[[], datetime]


class ApiError(Exception):
    """An answer other than 200: its status, message and (for 400) the parameter at fault."""

    def __init__(self, status: HTTPStatus, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter


class Query:
    """A request's query string: each parameter read at most once, the rest refused as unknown."""

    def __init__(self, raw: str) -> None:
        try:
            self._values = parse_qs(raw, keep_blank_values=True, strict_parsing=False, errors="strict")
        except UnicodeDecodeError:
            raise ApiError(HTTPStatus.BAD_REQUEST, "the query string is not UTF-8", "query") from None
        self._read: set[str] = set()

    def one(self, name: str) -> str | None:
        """The single value of `name`, or None if absent; twice is an error."""
        self._read.add(name)
        values = self._values.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"parameter {name!r} given more than once", name)
        return values[0]

    def many(self, name: str) -> tuple[str, ...]:
        """Every value of `name`, repeated or comma-separated."""
        self._read.add(name)
        items = [item.strip() for value in self._values.get(name, []) for item in value.split(",")]
        if any(not item for item in items):
            raise ApiError(HTTPStatus.BAD_REQUEST, f"parameter {name!r} has an empty value", name)
        return tuple(items)

    def day(self, name: str) -> date | None:
        """A YYYY-MM-DD parameter."""
        value = self.one(name)
        if value is None:
            return None
        try:
            return datetime.strptime(value, "%Y-%m-%d").date()
        except ValueError:
            raise ApiError(
                HTTPStatus.BAD_REQUEST, f"{name} {value!r} is not a date (YYYY-MM-DD)", name
            ) from None

    def check_all_read(self) -> None:
        """Refuse a parameter the endpoint does not take."""
        unknown = sorted(set(self._values) - self._read)
        if unknown:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"unknown parameter {unknown[0]!r}", unknown[0])


class ApiApp:
    """The API's WSGI application: authentication, routing, parameters, JSON answers."""

    def __init__(self, tokens: Sequence[str], connect: Connect, clock: Clock | None = None) -> None:
        if not tokens or any(not t.strip() for t in tokens):
            raise ValueError("the API needs at least one non-blank token")
        self._tokens = [t.strip().encode() for t in tokens]
        self._connect = connect
        self._clock = clock or (lambda: datetime.now(UTC))
        self._routes: dict[str, Callable[[psycopg.Connection[Any], Query], Any]] = {
            "summary": self._summary,
            "breakdown": self._breakdown,
            "budgets": self._budgets,
            "reports/daily": self._spend("daily"),
            "reports/weekly": self._spend("weekly"),
            "reports/monthly": self._spend("monthly"),
            "reports/sessions": self._sessions,
            "reports/chargeback": self._chargeback,
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers: list[tuple[str, str]] = []
        try:
            status, document = self._answer(environ)
        except ApiError as exc:
            status = exc.status
            error: dict[str, Any] = {"status": int(status), "message": exc.message}
            if exc.parameter is not None:
                error["parameter"] = exc.parameter
            document = {"error": error}
            if status == HTTPStatus.UNAUTHORIZED:
                headers.append(("WWW-Authenticate", 'Bearer realm="agent-spend"'))
            elif status == HTTPStatus.METHOD_NOT_ALLOWED:
                headers.append(("Allow", "GET, HEAD"))
        body = json.dumps(document, indent=2).encode() + b"\n"
        headers += [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        start_response(f"{int(status)} {status.phrase}", headers)
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _authorized(self, environ: dict[str, Any]) -> bool:
        scheme, _, presented = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return False
        given = presented.strip().encode("utf-8", "surrogateescape")
        matched = False
        for token in self._tokens:  # every token compared, whichever matches
            matched |= hmac.compare_digest(given, token)
        return matched

    def _answer(self, environ: dict[str, Any]) -> tuple[HTTPStatus, Any]:
        if not self._authorized(environ):
            raise ApiError(HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token")
        path = environ.get("PATH_INFO", "")
        route = self._routes.get(path.removeprefix(PREFIX).rstrip("/")) if path.startswith(PREFIX) else None
        if route is None:
            raise ApiError(HTTPStatus.NOT_FOUND, f"no endpoint {path!r}; see docs/api.md")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            raise ApiError(HTTPStatus.METHOD_NOT_ALLOWED, "the API is read-only: GET only")
        query = Query(environ.get("QUERY_STRING", ""))
        try:
            with self._connect() as conn:
                return HTTPStatus.OK, route(conn, query)
        except report_periods.ReportError as exc:
            raise ApiError(HTTPStatus.BAD_REQUEST, exc.message, exc.parameter) from None
        except psycopg.errors.QueryCanceled:
            raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "the query took too long") from None
        except psycopg.OperationalError as exc:
            log.warning("api: database unavailable: %s", exc)
            raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "the database is unavailable") from None

    # -- parameters --------------------------------------------------------------------------

    def _today(self) -> date:
        return self._clock().astimezone(UTC).date()

    def _range(self, query: Query, default: Callable[[date], tuple[date, date]]) -> tuple[date, date]:
        period, since, until = query.one("period"), query.day("since"), query.day("until")
        if period is not None and (since is not None or until is not None):
            raise ApiError(HTTPStatus.BAD_REQUEST, "give either period or since/until", "period")
        if period is not None:
            first, last = report_periods.period_days(period, self._today())
        else:
            last = until or self._today()
            first = since or default(last)[0]
        if last < first:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"until {last} is before since {first}", "until")
        if last - first > timedelta(days=config.API_MAX_DAYS):
            raise ApiError(
                HTTPStatus.BAD_REQUEST, f"the range is longer than {config.API_MAX_DAYS} days", "since"
            )
        return first, last

    @staticmethod
    def _filters(query: Query) -> reports.Filters:
        return reports.Filters(**{name: query.many(name) for name in FILTERS})

    @staticmethod
    def _by(
        query: Query, allowed: Sequence[str], required: bool = False, default: str | None = None
    ) -> str | None:
        by = query.one("by") or default
        if by is None and required:
            raise ApiError(
                HTTPStatus.BAD_REQUEST, f"parameter 'by' is required: one of {', '.join(allowed)}", "by"
            )
        if by is not None and by not in allowed:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"by {by!r} is not one of {', '.join(allowed)}", "by")
        return by

    # -- endpoints ---------------------------------------------------------------------------

    def _summary(self, conn: psycopg.Connection[Any], query: Query) -> Any:
        first, last = self._range(query, lambda d: report_periods.period_days(DEFAULT_PERIOD, d))
        filters = self._filters(query)
        query.check_all_read()
        return as_json(reports.summary(conn, first, last, filters))

    def _breakdown(self, conn: psycopg.Connection[Any], query: Query) -> Any:
        by = self._by(query, reports.DIMENSIONS, required=True)
        first, last = self._range(query, lambda d: report_periods.period_days(DEFAULT_PERIOD, d))
        filters = self._filters(query)
        query.check_all_read()
        assert by is not None
        return as_json(reports.breakdown(conn, first, last, by, filters))

    def _spend(self, kind: str) -> Callable[[psycopg.Connection[Any], Query], Any]:
        def endpoint(conn: psycopg.Connection[Any], query: Query) -> Any:
            by = self._by(query, reports.DIMENSIONS)
            first, last = self._range(query, lambda d: report_periods.default_range(kind, d))
            filters = self._filters(query)
            query.check_all_read()
            spend_kind: reports.SpendKind = (
                "daily" if kind == "daily" else "weekly" if kind == "weekly" else "monthly"
            )
            return as_json(reports.spend_report(conn, spend_kind, first, last, by, filters))

        return endpoint

    def _sessions(self, conn: psycopg.Connection[Any], query: Query) -> Any:
        by = self._by(query, list(reports.SESSION_DIMENSIONS))
        first, last = self._range(query, lambda d: report_periods.default_range("sessions", d))
        filters = self._filters(query)
        raw_limit = query.one("limit")
        if raw_limit is not None and (not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 10_000):
            raise ApiError(
                HTTPStatus.BAD_REQUEST, f"limit {raw_limit!r} is not a number from 1 to 10000", "limit"
            )
        query.check_all_read()
        limit = int(raw_limit) if raw_limit is not None else reports.SESSION_LIMIT
        return as_json(reports.sessions_report(conn, first, last, by, filters, limit))

    def _chargeback(self, conn: psycopg.Connection[Any], query: Query) -> Any:
        month = query.one("month")
        by = self._by(query, reports.CHARGEBACK_BY, default="team")
        query.check_all_read()
        if month is None:
            month = (self._today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        assert by is not None
        return as_json(reports.chargeback_report(conn, month, by))

    def _budgets(self, conn: psycopg.Connection[Any], query: Query) -> Any:
        query.check_all_read()
        return as_json(reports.budgets_report(conn, self._clock()))
