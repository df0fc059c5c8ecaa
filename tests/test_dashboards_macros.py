"""tests/grafana_sql.py against the expectations of Grafana's own tests.

Macro cases are ported from pkg/tsdb/grafana-postgresql-datasource/macros_test.go; variable
cases follow SqlDatasource.interpolateVariable and the template service's "All" handling.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.grafana_sql import (
    ALL,
    MacroError,
    Variable,
    expand_macros,
    go_float,
    go_format_interval,
    go_parse_interval,
    interpolate_variables,
    panel_interval,
    render,
)

FROM = datetime(2018, 4, 12, 18, 0, tzinfo=UTC)
TO = FROM + timedelta(minutes=5)
INTERVAL = timedelta(minutes=10)


def expand(sql: str, start: datetime = FROM, end: datetime = TO) -> str:
    return expand_macros(sql, start, end, INTERVAL)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select $__time(time_column)", 'select time_column AS "time"'),
        ("select min($__time(time_column))", 'select min(time_column AS "time")'),
        ("WHERE $__timeFilter(time_column)",
         "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'"),
        ("select $__timeFrom()", "select '2018-04-12T18:00:00Z'"),
        ("select $__timeTo()", "select '2018-04-12T18:05:00Z'"),
        ("SELECT $__timeGroup(time_column,'5m'), value",
         'SELECT floor(extract(epoch from time_column)/300)*300 AS "time", value'),
        ("SELECT $__timeGroup(time_column,'5m') as time, value",
         "SELECT floor(extract(epoch from time_column)/300)*300 as time, value"),
        ("SELECT $__timeGroup(time_column,'5m')", "SELECT floor(extract(epoch from time_column)/300)*300"),
        ("SELECT $__timeGroupAlias(time_column,'5m')",
         'SELECT floor(extract(epoch from time_column)/300)*300 AS "time"'),
        ("$__timeGroup(time_column , '5m')", "floor(extract(epoch from time_column)/300)*300"),
        ("GROUP BY $__timeGroup(time_column , '12d')",
         "GROUP BY floor(extract(epoch from time_column)/1.0368e+06)*1.0368e+06"),
        ("select $__unixEpochFilter(time)", "select time >= 1523556000 AND time <= 1523556300"),
        ("select $__unixEpochNanoFilter(time)",
         "select time >= 1523556000000000000 AND time <= 1523556300000000000"),
        ("select $__unixEpochNanoFrom()", "select 1523556000000000000"),
        ("select $__unixEpochNanoTo()", "select 1523556300000000000"),
        ("SELECT $__unixEpochGroup(time_column+time_adjustment,'5m')",
         "SELECT floor((time_column+time_adjustment)/300)*300"),
        ("SELECT $__unixEpochGroupAlias(time_column+time_adjustment,'5m')",
         'SELECT floor((time_column+time_adjustment)/300)*300 AS "time"'),
        ("SELECT $__interval, $__interval_ms, $__unixEpochFrom(), $__unixEpochTo()",
         "SELECT 10m, 600000, 1523556000, 1523556300"),
        ("SELECT $__timeGroupAlias(ts, $__interval)",
         'SELECT floor(extract(epoch from ts)/600)*600 AS "time"'),
        ("SELECT $__timeGroupAlias(ts, '1d', 0)",
         'SELECT floor(extract(epoch from ts)/86400)*86400 AS "time"'),
    ],
)  # fmt: skip
def test_macros_expand_like_grafana(sql: str, expected: str) -> None:
    assert expand(sql) == expected


def test_time_filter_keeps_fractional_seconds_and_old_dates() -> None:
    start = datetime(1960, 2, 1, 7, 0, 0, 500_000, tzinfo=UTC)
    end = datetime(1980, 2, 3, 8, 0, 0, 500_000, tzinfo=UTC)
    assert expand("WHERE $__timeFilter(t)", start, end) == (
        "WHERE t BETWEEN '1960-02-01T07:00:00.5Z' AND '1980-02-03T08:00:00.5Z'"
    )
    assert expand("$__unixEpochFilter(t)", start, end) == "t >= -312915600 AND t <= 318412800"


def test_macro_errors() -> None:
    with pytest.raises(MacroError, match="unknown macro"):
        expand("SELECT $__nope(x)")
    with pytest.raises(MacroError, match="needs time column and interval"):
        expand("SELECT $__timeGroup(x)")
    with pytest.raises(MacroError, match="error parsing interval"):
        expand("SELECT $__timeGroup(x, 'soon')")
    with pytest.raises(MacroError, match="fill value"):
        expand("SELECT $__timeGroup(x, '5m', sometimes)")


def test_go_number_and_interval_formatting() -> None:
    assert [go_float(v) for v in (300.0, 86400.0, 999999.5, 1e6, 0.02, 0.0001, 1e-05)] == [
        "300", "86400", "999999.5", "1e+06", "0.02", "0.0001", "1e-05",
    ]  # fmt: skip
    assert go_parse_interval("1h30m") == timedelta(minutes=90)
    assert go_parse_interval("20ms") == timedelta(milliseconds=20)
    assert go_parse_interval("2w") == timedelta(days=14)
    # Months count from an explicit now, as Go's AddDate does (Jan 31 + 1 month is Mar 2 in 2028).
    assert go_parse_interval("1M", now=datetime(2028, 1, 31, 12, tzinfo=UTC)) == timedelta(days=31)
    assert go_parse_interval("1y", now=datetime(2028, 2, 29, tzinfo=UTC)) == timedelta(days=366)
    with pytest.raises(MacroError, match="calendar interval"):
        go_parse_interval("1M")
    with pytest.raises(MacroError):
        go_parse_interval("5 minutes")
    assert [go_format_interval(timedelta(seconds=s)) for s in (0.0001, 0.5, 30, 600, 7200, 86400 * 7)] == [
        "1ms", "500ms", "30s", "10m", "2h", "7d",
    ]  # fmt: skip


def test_panel_interval_follows_grafanas_ladder() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    assert panel_interval(start, start + timedelta(days=7)) == timedelta(minutes=10)
    assert panel_interval(start, start + timedelta(hours=24)) == timedelta(minutes=1)
    assert panel_interval(start, start + timedelta(hours=1), min_interval="1m") == timedelta(minutes=1)
    assert panel_interval(start, start + timedelta(days=90)) == timedelta(hours=2)


TEAM = Variable(
    "team", ["a", "o'b"], multi=True, include_all=True, all_value="'__all'", options=["a", "o'b", "c"]
)


@pytest.mark.parametrize(
    ("sql", "variable", "expected"),
    [
        ("IN ($team)", TEAM, "IN ('a','o''b')"),
        ("IN (${team})", TEAM, "IN ('a','o''b')"),
        ("IN ([[team]])", TEAM, "IN ('a','o''b')"),
        ("ARRAY[${team:sqlstring}]", TEAM, "ARRAY['a','o''b']"),
        ("${team:csv}", TEAM, "a,o'b"),
        # All with a custom allValue: inserted verbatim, whatever the format.
        ("IN ($team)", Variable("team", ALL, True, True, "'__all'", ["a"]), "IN ('__all')"),
        ("ARRAY[${team:sqlstring}]", Variable("team", [ALL], True, True, "'__all'", ["a"]), "ARRAY['__all']"),
        # All without one: every option, formatted like a selection.
        ("IN ($team)", Variable("team", ALL, True, True, None, ["a", "b"]), "IN ('a','b')"),
        # A plain single-value variable is escaped but NOT quoted without a format...
        ("= '$user'", Variable("user", "o'b"), "= 'o''b'"),
        # ...and quoted with sqlstring, or when the variable could hold several values.
        ("= ${user:sqlstring}", Variable("user", "o'b"), "= 'o''b'"),
        ("= $user", Variable("user", "x", include_all=True), "= 'x'"),
        ("$__timeFilter(ts) AND $unknown", TEAM, "$__timeFilter(ts) AND $unknown"),
    ],
)  # fmt: skip
def test_variables_interpolate_like_grafanas_sql_datasources(
    sql: str, variable: Variable, expected: str
) -> None:
    assert interpolate_variables(sql, {variable.name: variable}) == expected


def test_render_runs_variables_before_macros() -> None:
    sql = "SELECT $__timeGroupAlias(ts, $__interval) FROM t WHERE $__timeFilter(ts) AND team IN ($team)"
    assert render(sql, FROM, TO, [TEAM], INTERVAL) == (
        'SELECT floor(extract(epoch from ts)/600)*600 AS "time" FROM t WHERE ts BETWEEN '
        "'2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z' AND team IN ('a','o''b')"
    )
