"""Plain-dict builders for the Grafana dashboard model (schemaVersion 39).

Only what the agent-spend dashboards use. Every panel and target names the provisioned
PostgreSQL datasource explicitly, so the dashboards never depend on a default datasource.

Filters: the query variables are multi-select with "All" (the Developer dashboard's user is
single-select), and their allValue is the SQL literal '__all', quotes included. Panels write
`ARRAY[${team:sqlstring}]`: the sqlstring format single-quotes every selected value and
joins them with commas (quotes doubled), whether the variable is multi-value or not, so a
selection becomes ARRAY['a','b'] and a single value ARRAY['a']. A custom allValue is
inserted verbatim, never formatted, so All becomes ARRAY['__all'], which spend_dim_match()
(schema/objects/20_helpers/) folds into "no filter" at plan time instead of a long IN list. (Without
a format, Grafana's SQL datasources quote only multi-value or include-all variables: a
plain single-value variable would arrive unquoted.)
"""

from __future__ import annotations

from typing import Any

from bridge.config import ALL_SENTINEL

DATASOURCE: dict[str, str] = {"type": "grafana-postgresql-datasource", "uid": "agent-spend-pg"}
SCHEMA_VERSION = 39
TAG = "agent-spend"
ALL_VALUE = f"'{ALL_SENTINEL}'"  # reserved at ingest: no stored value can equal it
NO_DATA = "No data"

# Dashboard variable -> column name in the views and functions of schema/objects/40_read_model/
# and 50_panels/.
FILTER_COLUMNS: dict[str, str] = {
    "environment": "environment",
    "team": "team",
    "user": "user_id",
    "model": "model",
    "harness": "harness",
    "repository": "repository",
}
FILTER_ARGS = ", ".join(f"ARRAY[${{{name}:sqlstring}}]" for name in FILTER_COLUMNS)
RANGE_ARGS = "$__timeFrom(), $__timeTo()"


def ranged(function: str) -> str:
    """`function(<dashboard range>, <the six filters>)`, the call form of 0004's summaries."""
    return f"{function}({RANGE_ARGS}, {FILTER_ARGS})"


# Analyses of individual raw calls (arrival delays, sources) look at the last RAW_WINDOW of
# the selected range at most, so their cost stays bounded at any range; the session
# call-sequence analyses, which sort every call, at the last SEQUENCE_WINDOW.
RAW_WINDOW = "24 hours"
SEQUENCE_WINDOW = "6 hours"


def ranged_recent(function: str, window: str = RAW_WINDOW) -> str:
    """Like ranged(), over the last `window` of the dashboard range at most."""
    start = f"GREATEST($__timeFrom()::timestamptz, $__timeTo()::timestamptz - interval '{window}')"
    return f"{function}({start}, $__timeTo(), {FILTER_ARGS})"


def view_filters(alias: str = "") -> str:
    """The six filters as a WHERE fragment for the views (spend_by_day, spend_calls, ...)."""
    prefix = f"{alias}." if alias else ""
    return " AND ".join(
        f"spend_dim_match({prefix}{col}, ARRAY[${{{var}:sqlstring}}])" for var, col in FILTER_COLUMNS.items()
    )


def query_variable(name: str, label: str, *, multi: bool = True, include_all: bool = True) -> dict[str, Any]:
    """A filter variable fed by 0004's dimension_values() over the dashboard range."""
    sql = (
        f"SELECT value FROM dimension_values($__timeFrom(), $__timeTo()) "
        f"WHERE dimension = '{name}' ORDER BY value"
    )
    variable: dict[str, Any] = {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DATASOURCE,
        "query": sql,
        "definition": sql,
        "refresh": 2,  # on time range change
        "sort": 1,
        "multi": multi,
        "includeAll": include_all,
        "options": [],
        "regex": "",
        "hide": 0,
        "skipUrlSync": False,
    }
    if include_all:
        variable["allValue"] = ALL_VALUE
        variable["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    else:
        variable["current"] = {}
    return variable


def textbox_variable(name: str, label: str) -> dict[str, Any]:
    return {
        "type": "textbox",
        "name": name,
        "label": label,
        "query": "",
        "hide": 0,
        "current": {"selected": False, "text": "", "value": ""},
        "options": [],
    }


def filter_variables(single_user: bool = False) -> list[dict[str, Any]]:
    labels = {
        "environment": "Environment",
        "team": "Team",
        "user": "Developer",
        "model": "Model",
        "harness": "Harness",
        "repository": "Repository",
    }
    return [
        query_variable(
            name,
            labels[name],
            multi=not (single_user and name == "user"),
            include_all=not (single_user and name == "user"),
        )
        for name in FILTER_COLUMNS
    ]


def layout(rows: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Place panels row by row (24 grid columns) and number them."""
    placed: list[dict[str, Any]] = []
    y = 0
    for row in rows:
        x = 0
        height = 0
        for panel in row:
            grid = panel["gridPos"]
            if x + grid["w"] > 24:
                raise ValueError(f"row too wide at panel {panel['title']!r}")
            grid["x"], grid["y"] = x, y
            x += grid["w"]
            height = max(height, grid["h"])
            panel["id"] = len(placed) + 1
            placed.append(panel)
        y += height
    return placed


def dashboard(
    uid: str,
    title: str,
    description: str,
    rows: list[list[dict[str, Any]]],
    *,
    variables: list[dict[str, Any]],
    links: list[dict[str, Any]],
    time_from: str = "now-7d",
    refresh: str = "5m",
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": [TAG],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "graphTooltip": 1,
        "timezone": "utc",  # the rollups' day buckets are UTC days
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "refresh": refresh,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "annotations": {"list": []},
        "templating": {"list": variables},
        "links": links,
        "panels": layout(rows),
    }


def nav_links() -> list[dict[str, Any]]:
    """Every agent-spend dashboard one click away, keeping the time range and filters."""
    return [
        {
            "type": "link",
            "title": "Org overview",
            "url": "/d/agent-spend-overview/org-overview",
            "icon": "dashboard",
            "includeVars": True,
            "keepTime": True,
            "asDropdown": False,
            "tags": [],
            "targetBlank": False,
            "tooltip": "Organisation overview",
        },
        {
            "type": "dashboards",
            "title": "Agent spend",
            "tags": [TAG],
            "asDropdown": True,
            "includeVars": True,
            "keepTime": True,
            "icon": "external link",
            "targetBlank": False,
            "tooltip": "",
            "url": "",
        },
    ]


def developer_url(user_expr: str = "${__value.raw:percentencode}") -> str:
    return f"/d/agent-spend-developer/developer?var-user={user_expr}&${{__url_time_range}}"


def session_url() -> str:
    return (
        "/d/agent-spend-developer/developer?var-user=${__data.fields.user_id:percentencode}"
        "&var-session=${__value.raw:percentencode}&${__url_time_range}"
    )
