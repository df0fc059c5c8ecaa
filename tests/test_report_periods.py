"""The reports' date arithmetic (bridge/admin/report_periods.py): default ranges, periods,
months, the instants a range covers, and the errors naming the parameter. No database;
every `today` is passed in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bridge.admin import report_periods


def test_default_ranges() -> None:
    thursday = date(2026, 12, 3)
    assert report_periods.default_range("daily", thursday) == (date(2026, 11, 27), thursday)
    assert report_periods.default_range("weekly", thursday) == (date(2026, 11, 9), thursday)
    assert report_periods.default_range("monthly", thursday) == (date(2026, 10, 1), thursday)
    assert report_periods.default_range("monthly", date(2026, 1, 31)) == (
        date(2025, 11, 1),
        date(2026, 1, 31),
    )
    assert report_periods.period_days("30d", thursday) == (date(2026, 11, 4), thursday)
    assert report_periods.month_range("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    with pytest.raises(report_periods.ReportError) as bad:
        report_periods.period_days("30x", thursday)
    assert bad.value.parameter == "period"


def test_instant_range_ends_at_the_last_microsecond_of_until() -> None:
    start, end = report_periods.instant_range(date(2026, 11, 1), date(2026, 11, 30))
    assert start == datetime(2026, 11, 1, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(report_periods.ReportError) as bad:
        report_periods.check_range(date(2026, 11, 2), date(2026, 11, 1))
    assert bad.value.parameter == "until"
    with pytest.raises(report_periods.ReportError) as bad:
        report_periods.month_range("2026-13")
    assert bad.value.parameter == "month"


def test_period_end_clips_to_the_range() -> None:
    until = date(2026, 11, 20)
    assert report_periods.period_end(date(2026, 11, 16), "week", until) == date(2026, 11, 20)
    assert report_periods.period_end(date(2026, 11, 9), "week", until) == date(2026, 11, 15)
    assert report_periods.period_end(date(2026, 10, 1), "month", until) == date(2026, 10, 31)
    assert report_periods.period_end(date(2026, 11, 3), "day", until) == date(2026, 11, 3)
