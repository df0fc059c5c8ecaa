"""Turn a Grafana panel's rawSql into the SQL Grafana would send to PostgreSQL.

Two stages, in Grafana's order:

1. Template variables, as the browser does it (templateSrv.replace with the SQL datasource's
   interpolateVariable, packages/grafana-sql/src/datasource/SqlDatasource.ts): `$var`,
   `[[var]]`, `${var}` and `${var:format}`. Without a format, a multi-value or include-all
   variable becomes single-quoted, comma-joined literals with quotes doubled ('a','b'); a
   plain single-value variable is inserted with quotes doubled but not quoted. "All" inserts
   the variable's custom allValue verbatim (re-interpolated, never formatted, except for the
   text/percentencode formats), or else all option values, formatted like a selection.
2. Macros, as the backend does it (pkg/tsdb/grafana-postgresql-datasource: sqleng's global
   Interpolate, then macros.go's postgresMacroEngine, without TimescaleDB): `$__interval_ms`,
   `$__interval`, `$__unixEpochFrom()`, `$__unixEpochTo()` by plain replacement, then every
   `$__name(args)` through one regex with Go's formatting (RFC3339Nano times, %v floats).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

ALL = "$__all"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# public/app/features/variables/utils.ts (variableRegex)
VARIABLE_RE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")
# macros.go: rsIdentifier / sExpr
MACRO_RE = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")


class MacroError(ValueError):
    """What Grafana reports as "interpolation failed"."""


@dataclass
class Variable:
    """A dashboard variable's state: `current` is a list for multi-value, ALL for "All"."""

    name: str
    current: str | list[str]
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    options: list[str] = field(default_factory=list)  # without the All option


# -- stage 1: template variables ------------------------------------------------------------


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _datasource_format(value: str | list[str], variable: Variable) -> str:
    """SqlDatasource.interpolateVariable."""
    if isinstance(value, str):
        if variable.multi or variable.include_all:
            return _quote_literal(value)
        return value.replace("'", "''")
    return ",".join(_quote_literal(v) for v in value)


def _named_format(value: str | list[str], fmt: str, variable: Variable) -> str:
    """The format registry entries a SQL panel can reasonably use."""
    values = [value] if isinstance(value, str) else value
    if fmt == "sqlstring":
        return ",".join(_quote_literal(v) for v in values)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    if fmt == "csv":
        return ",".join(values)
    if fmt == "pipe":
        return "|".join(values)
    if fmt in ("raw", "text"):
        return value if isinstance(value, str) else ",".join(values)
    if fmt == "glob":
        if isinstance(value, str) or len(values) == 1:
            return values[0]  # one value: as it is (a str's values are [value])
        return "{" + ",".join(values) + "}"
    if fmt == "percentencode":
        encoded = [quote(v, safe="-_.!~*'()") for v in values]
        return encoded[0] if isinstance(value, str) else "{" + ",".join(encoded) + "}"
    if fmt == "queryparam":
        return "&".join(f"var-{variable.name}={quote(v, safe='')}" for v in values)
    raise ValueError(f"unsupported variable format {fmt!r}")


def interpolate_variables(sql: str, variables: Mapping[str, Variable]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        variable = variables.get(name)
        if variable is None:
            return match.group(0)  # macros, $__interval and unknown names are left alone
        value: str | list[str] = variable.current
        is_all = value == ALL or (isinstance(value, list) and value[:1] == [ALL])
        if is_all:
            if variable.all_value and fmt not in ("text", "percentencode"):
                return interpolate_variables(variable.all_value, variables)
            value = list(variable.options)
        if fmt:
            return _named_format(value, fmt, variable)
        return _datasource_format(value, variable)

    return VARIABLE_RE.sub(replace, sql)


# -- stage 2: macros -------------------------------------------------------------------------


def go_rfc3339nano(moment: datetime) -> str:
    """time.Time.UTC().Format(time.RFC3339Nano): trailing fractional zeros dropped."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += ("." + f"{moment.microsecond:06d}").rstrip("0")
    return text + "Z"


def go_float(value: float) -> str:
    """fmt's %v for a float64 (strconv 'g', shortest): exponent form when it is < -4 or >= 6."""
    if value == 0:
        return "0"
    digits, exponent = _shortest(value)
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        sign = "+" if exponent >= 0 else "-"
        return f"{'-' if value < 0 else ''}{mantissa}e{sign}{abs(exponent):02d}"
    return ("-" if value < 0 else "") + format(Decimal(repr(abs(value))).normalize(), "f")


def _shortest(value: float) -> tuple[str, int]:
    _sign, digits, exp = Decimal(repr(abs(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    return text, len(text) + int(exp) - 1


def unix_seconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(seconds=1)


def unix_nanos(moment: datetime) -> int:
    return ((moment - EPOCH) // timedelta(microseconds=1)) * 1000


def go_format_interval(interval: timedelta) -> str:
    """gtime.FormatInterval."""
    ms = interval // timedelta(milliseconds=1)
    for unit, size in (
        ("y", 365 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ):
        if ms >= size:
            return f"{ms // size}{unit}"
    return f"{ms}ms" if ms >= 1 else "1ms"


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


def go_parse_interval(text: str, now: datetime | None = None) -> timedelta:
    """gtime.ParseInterval: d/w/M/y are calendar steps from `now` (UTC), the rest time.ParseDuration.

    Months and years vary in length, so they need an explicit `now`: the tests never take it
    from the wall clock.
    """
    calendar = re.fullmatch(r"(\d+)([dwMy])", text)
    if calendar:
        count, unit = int(calendar.group(1)), calendar.group(2)
        if unit in "dw":
            return timedelta(days=count * (7 if unit == "w" else 1))
        if now is None:
            raise MacroError(f"{text!r} is a calendar interval: pass the `now` it counts from")
        now = now.astimezone(UTC)
        months = count * (12 if unit == "y" else 1)
        year, month = divmod(now.month - 1 + months, 12)
        shifted = datetime(now.year + year, month + 1, 1, tzinfo=UTC) + timedelta(days=now.day - 1)
        return (
            shifted.replace(hour=now.hour, minute=now.minute, second=now.second, microsecond=now.microsecond)
            - now
        )
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return timedelta(0)
    parts = _GO_DURATION.findall(body)
    if not body or "".join(n + u for n, u in parts) != body or any(n in ("", ".") for n, _ in parts):
        raise MacroError(f"time: invalid duration {text!r}")
    seconds = sum(float(n) * _GO_UNITS[u] for n, u in parts)
    return timedelta(seconds=-seconds if text.startswith("-") else seconds)


def _check_fill(fill: str) -> None:
    """sqleng.SetupFillmode: NULL, previous, or a number."""
    if fill in ("NULL", "previous"):
        return
    try:
        float(fill)
    except ValueError:
        raise MacroError(f"error parsing fill value {fill}") from None


def _macro(name: str, args: list[str], start: datetime, end: datetime) -> str:
    def need_column() -> str:
        if not args:
            raise MacroError(f"missing time column argument for macro {name}")
        return args[0]

    def group(template: str) -> str:
        if len(args) < 2:
            raise MacroError(f"macro {name} needs time column and interval and optional fill value")
        try:
            seconds = go_parse_interval(args[1].strip("'")).total_seconds()
        except MacroError:
            raise MacroError(f"error parsing interval {args[1]}") from None
        if len(args) == 3:
            _check_fill(args[2])
        return template.format(column=args[0], seconds=go_float(seconds))

    if name == "__time":
        return f'{need_column()} AS "time"'
    if name == "__timeEpoch":
        return f'extract(epoch from {need_column()}) as "time"'
    if name == "__timeFilter":
        return f"{need_column()} BETWEEN '{go_rfc3339nano(start)}' AND '{go_rfc3339nano(end)}'"
    if name == "__timeFrom":
        return f"'{go_rfc3339nano(start)}'"
    if name == "__timeTo":
        return f"'{go_rfc3339nano(end)}'"
    if name == "__timeGroup":
        return group("floor(extract(epoch from {column})/{seconds})*{seconds}")
    if name == "__timeGroupAlias":
        return _macro("__timeGroup", args, start, end) + ' AS "time"'
    if name == "__unixEpochFilter":
        column = need_column()
        return f"{column} >= {unix_seconds(start)} AND {column} <= {unix_seconds(end)}"
    if name == "__unixEpochNanoFilter":
        column = need_column()
        return f"{column} >= {unix_nanos(start)} AND {column} <= {unix_nanos(end)}"
    if name == "__unixEpochNanoFrom":
        return str(unix_nanos(start))
    if name == "__unixEpochNanoTo":
        return str(unix_nanos(end))
    if name == "__unixEpochGroup":
        return group("floor(({column})/{seconds})*{seconds}")
    if name == "__unixEpochGroupAlias":
        return _macro("__unixEpochGroup", args, start, end) + ' AS "time"'
    raise MacroError(f'unknown macro "{name}"')


def expand_macros(sql: str, start: datetime, end: datetime, interval: timedelta) -> str:
    # sqleng.Interpolate: global substitutions first, by plain string replacement.
    sql = sql.replace("$__interval_ms", str(interval // timedelta(milliseconds=1)))
    sql = sql.replace("$__interval", go_format_interval(interval))
    sql = sql.replace("$__unixEpochFrom()", str(unix_seconds(start)))
    sql = sql.replace("$__unixEpochTo()", str(unix_seconds(end)))
    original = sql

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "__timeGroup":
            # Pre-5.3 compatibility: a ',' right after the first occurrence means "alias it".
            index = original.find(match.group(0))
            if index >= 0 and original[index + len(match.group(0)) : index + len(match.group(0)) + 1] == ",":
                name = "__timeGroupAlias"
        args = [arg.strip(" ") for arg in match.group(2).split(",")]
        return _macro(name, args, start, end)

    return MACRO_RE.sub(replace, sql)


# -- the interval Grafana's frontend picks -----------------------------------------------------

# @grafana/data rangeutil.roundInterval: (upper bound exclusive, result) in milliseconds.
_LADDER: tuple[tuple[int, int], ...] = (
    (10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
    (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000), (45000, 30000),
    (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000), (1050000, 900000),
    (1500000, 1200000), (2700000, 1800000), (5400000, 3600000), (9000000, 7200000),
    (16200000, 10800000), (32400000, 21600000), (86400000, 43200000), (604800000, 86400000),
    (1814400000, 604800000), (3628800000, 2592000000),
)  # fmt: skip


def round_interval(ms: float) -> int:
    return next((result for bound, result in _LADDER if ms < bound), 31536000000)


def panel_interval(
    start: datetime, end: datetime, max_data_points: int = 1000, min_interval: str | None = None
) -> timedelta:
    """kbn.calculateInterval: the range over the panel's data points, rounded, at least `min_interval`."""
    ms = round_interval((end - start) / timedelta(milliseconds=1) / max_data_points)
    if min_interval:
        ms = max(ms, int(go_parse_interval(min_interval) / timedelta(milliseconds=1)))
    return timedelta(milliseconds=ms)


def render(
    sql: str,
    start: datetime,
    end: datetime,
    variables: Mapping[str, Variable] | Sequence[Variable] = (),
    interval: timedelta | None = None,
) -> str:
    """The SQL Grafana executes for `sql` over [start, end] with these variable values."""
    if not isinstance(variables, Mapping):
        variables = {v.name: v for v in variables}
    interval = interval if interval is not None else panel_interval(start, end)
    return expand_macros(interpolate_variables(sql, variables), start, end, interval)


# -- walking dashboard JSON --------------------------------------------------------------------


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those folded into collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def sql_targets(dashboard: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel, target


def panel_range(panel: Mapping[str, Any], start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """A panel's relative time override (`timeFrom: "24h"`) replaces the dashboard range with now-24h..now.

    The dashboards' ranges end at now (`now-7d` to `now`), so `end` is Grafana's now.
    """
    if not panel.get("timeFrom"):
        return start, end
    return end - go_parse_interval(str(panel["timeFrom"]), now=end), end


__all__ = [
    "ALL",
    "MacroError",
    "Variable",
    "expand_macros",
    "go_float",
    "go_format_interval",
    "go_parse_interval",
    "go_rfc3339nano",
    "interpolate_variables",
    "panel_interval",
    "panel_range",
    "panels",
    "render",
    "sql_targets",
]
