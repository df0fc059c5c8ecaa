"""Panel builders: stat, time series, table, pie chart and bar gauge, as plain dicts.

Units come from the column-name conventions of the read model (schema/objects/40_read_model/ and 50_panels/:
`*_usd`, `*_ratio`, `*tokens`, ...), so a table needs no per-column configuration and every
table formats money the same way.
"""

from __future__ import annotations

from typing import Any

from dashboards.grafana import DATASOURCE, NO_DATA


def target(sql: str, fmt: str = "table", ref: str = "A") -> dict[str, Any]:
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "format": fmt,
        "rawQuery": True,
        "rawSql": sql.strip(),
        "refId": ref,
    }


# Column-name conventions of the read model -> units, so tables need no per-column setup.
TABLE_UNITS: tuple[tuple[str, str, int | None], ...] = (
    (".*_usd$", "currencyUSD", 2),
    (".*_per_mtok$", "currencyUSD", 2),
    (".*(_ratio|_share)$", "percentunit", 1),
    (".*(tokens|calls|turns|rows|writes|busts|developers|users)$", "short", None),
    (".*_s$", "s", 0),
)


def _defaults(unit: str | None, decimals: int | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    defaults: dict[str, Any] = {"noValue": NO_DATA, "color": {"mode": "palette-classic"}}
    if unit:
        defaults["unit"] = unit
    if decimals is not None:
        defaults["decimals"] = decimals
    defaults.update(extra or {})
    return defaults


def _panel(
    kind: str,
    title: str,
    sql: str,
    fmt: str,
    *,
    description: str,
    defaults: dict[str, Any],
    options: dict[str, Any],
    overrides: list[dict[str, Any]] | None = None,
    size: tuple[int, int],
    **extra: Any,
) -> dict[str, Any]:
    panel: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": [target(sql, fmt)],
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options,
        "gridPos": {"w": size[0], "h": size[1], "x": 0, "y": 0},
    }
    panel.update(extra)
    return panel


def stat(
    title: str, sql: str, unit: str, *, description: str, decimals: int | None = None, width: int = 4
) -> dict[str, Any]:
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
        "graphMode": "none",
        "justifyMode": "auto",
        "textMode": "value",
        "orientation": "auto",
    }
    defaults = _defaults(
        unit,
        decimals,
        {"color": {"mode": "fixed", "fixedColor": "blue"}, "thresholds": _thresholds()},
    )
    return _panel(
        "stat",
        title,
        sql,
        "table",
        description=description,
        defaults=defaults,
        options=options,
        size=(width, 4),
    )


def timeseries(
    title: str,
    sql: str,
    unit: str,
    *,
    description: str,
    bars: bool = True,
    stacked: bool = True,
    width: int = 12,
    height: int = 8,
    decimals: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    custom = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 80 if bars else 15,
        "lineWidth": 1,
        "showPoints": "never",
        "stacking": {"group": "A", "mode": "normal" if stacked else "none"},
        "spanNulls": False,
    }
    options = {
        "legend": {
            "calcs": ["sum"] if unit == "currencyUSD" else ["mean"],
            "displayMode": "table",
            "placement": "right",
            "showLegend": True,
        },
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    defaults = _defaults(unit, decimals, {"custom": custom})
    return _panel(
        "timeseries",
        title,
        sql,
        "time_series",
        description=description,
        defaults=defaults,
        options=options,
        size=(width, height),
        **extra,
    )


def table(
    title: str,
    sql: str,
    *,
    description: str,
    links: dict[str, str] | None = None,
    width: int = 24,
    height: int = 9,
    **extra: Any,
) -> dict[str, Any]:
    """A table whose columns get units from their names; `links` maps a column to a URL."""
    overrides: list[dict[str, Any]] = [
        {
            "matcher": {"id": "byRegexp", "options": pattern},
            "properties": [{"id": "unit", "value": unit}]
            + ([{"id": "decimals", "value": decimals}] if decimals is not None else []),
        }
        for pattern, unit, decimals in TABLE_UNITS
    ]
    for column, url in sorted((links or {}).items()):
        overrides.append(
            {
                "matcher": {"id": "byName", "options": column},
                "properties": [{"id": "links", "value": [{"title": f"Open {column}", "url": url}]}],
            }
        )
    options = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"]}}
    return _panel(
        "table",
        title,
        sql,
        "table",
        description=description,
        defaults=_defaults(None, None),
        options=options,
        overrides=overrides,
        size=(width, height),
        **extra,
    )


def piechart(
    title: str, sql: str, unit: str, *, description: str, width: int = 8, height: int = 8
) -> dict[str, Any]:
    options = {
        "reduceOptions": {"calcs": [], "fields": "", "values": True},
        "pieType": "donut",
        "legend": {
            "displayMode": "table",
            "placement": "right",
            "showLegend": True,
            "values": ["value", "percent"],
        },
        "tooltip": {"mode": "single", "sort": "none"},
        "displayLabels": [],
    }
    return _panel(
        "piechart",
        title,
        sql,
        "table",
        description=description,
        defaults=_defaults(unit, 2 if unit == "currencyUSD" else None),
        options=options,
        size=(width, height),
    )


def bargauge(
    title: str,
    sql: str,
    unit: str,
    *,
    description: str,
    width: int = 12,
    height: int = 8,
    decimals: int | None = None,
    maximum: float | None = None,
) -> dict[str, Any]:
    options = {
        "reduceOptions": {"calcs": [], "fields": "", "values": True},
        "orientation": "horizontal",
        "displayMode": "gradient",
        "valueMode": "color",
        "showUnfilled": True,
        "namePlacement": "left",
        "sizing": "auto",
    }
    extra: dict[str, Any] = {"color": {"mode": "continuous-BlYlRd"}, "min": 0}
    if maximum is not None:
        extra["max"] = maximum
    return _panel(
        "bargauge",
        title,
        sql,
        "table",
        description=description,
        defaults=_defaults(unit, decimals, extra),
        options=options,
        size=(width, height),
    )


def _thresholds() -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": "blue", "value": None}]}
