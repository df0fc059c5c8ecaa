"""The date arithmetic of the reports: default ranges, months, periods, and the instants a range
covers, apart from the SQL that reads the figures (bridge/admin/reports.py).

All days are UTC days; a range includes both `since` and `until`; a week is ISO (Monday to
Sunday), a month the calendar month. Pure functions of their arguments (`today` is passed in,
never read from the clock), so they are tested without a database or a date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

Grain = Literal["day", "week", "month"]

# Default ranges, counted back from today (UTC): daily 7 days, weekly 4 ISO weeks (from a
# Monday), monthly 3 calendar months (from the 1st), sessions 7 days.
DEFAULT_DAYS = 7
DEFAULT_WEEKS = 4
DEFAULT_MONTHS = 3


class ReportError(ValueError):
    """A report asked for something that does not exist (a bad dimension, range or month)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


def default_range(kind: str, today: date) -> tuple[date, date]:
    """The range a report covers when --since is not given, ending `today` (UTC)."""
    if kind == "weekly":
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(weeks=DEFAULT_WEEKS - 1), today
    if kind == "monthly":
        first = today.replace(day=1)
        for _ in range(DEFAULT_MONTHS - 1):
            first = (first - timedelta(days=1)).replace(day=1)
        return first, today
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def month_range(month: str) -> tuple[date, date]:
    """'2026-11' -> (2026-11-01, 2026-11-30)."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise ReportError("month", f"month {month!r} is not YYYY-MM") from None
    following = (first + timedelta(days=31)).replace(day=1)
    return first, following - timedelta(days=1)


def period_days(period: str, today: date) -> tuple[date, date]:
    """'30d' (also '4w') -> the last 30 UTC days, today included."""
    units = {"d": 1, "w": 7}
    number, unit = period[:-1], period[-1:]
    if unit not in units or not number.isdigit() or not 1 <= int(number) * units[unit] <= 3660:
        raise ReportError("period", f"period {period!r} is not a number of days or weeks, e.g. 30d or 4w")
    return today - timedelta(days=int(number) * units[unit] - 1), today


def period_end(start: date, grain: Grain | None, until: date) -> date:
    """The last day of the period starting `start`, clipped to the report's range."""
    if grain == "day":
        end = start
    elif grain == "week":
        end = start + timedelta(days=6)
    elif grain == "month":
        end = (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    else:
        end = until
    return min(end, until)


def check_range(since: date, until: date) -> None:
    """Refuse a range that ends before it starts."""
    if until < since:
        raise ReportError("until", f"until {until} is before since {since}")


def instant_range(since: date, until: date) -> tuple[datetime, datetime]:
    """[since 00:00, until 24:00) as the inclusive instants the dashboards' functions take: the end
    is the last microsecond of `until` (PostgreSQL's resolution), so no call is in two ranges."""
    start = datetime.combine(since, time(), tzinfo=UTC)
    return start, datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC) - timedelta(microseconds=1)
