"""Rendering the reports of bridge/admin/reports.py as an aligned table, JSON or CSV.

One rounding rule for dollars, applied only here and only to what a person reads:

* table: dollars rounded half-up to whole cents (`1,234.57`), with thousands separators;
  the totals row is the exact sum rounded once, so it can differ by a cent or so from the
  sum of the rounded cells above it;
* JSON and CSV: dollars as exact decimal strings, exactly the stored NUMERIC sums
  (`"1234.5678901"`), never floats, never rounded; counts and tokens are integers.

Text columns are left-aligned and figures right-aligned; a missing figure is `-` in tables,
empty in CSV and null in JSON. The JSON is what the API serves (bridge/api/app.py), so a
script reading either gets the same document. docs/reports.md shows examples.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, Literal

from bridge.admin.report_periods import period_end
from bridge.admin.reports import (
    BudgetsReport,
    ChargebackReport,
    SessionGroupRow,
    SessionRow,
    SessionsReport,
    SpendReport,
    SpendRow,
)

Format = Literal["table", "json", "csv"]
FORMATS: Final[tuple[str, ...]] = ("table", "json", "csv")
Kind = Literal["text", "period", "date", "instant", "count", "usd", "seconds"]
CENT = Decimal("0.01")
MISSING = "-"


@dataclass(frozen=True)
class Column:
    """One column of a rendered report: its JSON/CSV name, table header, kind, and whether tables show it."""

    name: str
    header: str
    kind: Kind
    table: bool = True


@dataclass(frozen=True)
class Tabulated:
    """A report flattened for rendering: title, columns, rows and totals as plain values."""

    title: str
    meta: dict[str, Any]
    columns: list[Column]
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None
    note: str = ""


def round_usd(value: Decimal) -> Decimal:
    """The one rounding rule for dollars a person reads: half-up to whole cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def exact_usd(value: Decimal) -> str:
    """Dollars for machines: the exact stored value in plain notation, trailing zeros dropped."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


# -- flattening -------------------------------------------------------------------------------

_SPEND_COLUMNS = [
    Column("calls", "calls", "count"),
    Column("error_calls", "errors", "count", table=False),
    Column("unpriced_calls", "unpriced", "count", table=False),
    Column("input_tokens", "input tokens", "count", table=False),
    Column("output_tokens", "output tokens", "count", table=False),
    Column("cache_read_tokens", "cache read tokens", "count", table=False),
    Column("cache_write_tokens", "cache write tokens", "count", table=False),
    Column("total_tokens", "tokens", "count"),
    Column("cost_usd", "cost $", "usd"),
    Column("list_cost_usd", "list $", "usd"),
    Column("reported_cost_usd", "reported $", "usd"),
]
_SPEND_MEASURES = [c.name for c in _SPEND_COLUMNS]
_GRAIN_NAMES = {"day": "Daily", "week": "Weekly", "month": "Monthly"}


def period_label(start: date, grain: str | None) -> str:
    """2026-11-03 (day), 2026-W45 (ISO week), 2026-11 (month)."""
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "month":
        return start.strftime("%Y-%m")
    return start.isoformat()


def _filters_text(filters: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}={','.join(values)}" for name, values in filters.items())


def _title(base: str, since: date, until: date, filters: dict[str, list[str]]) -> str:
    text = f"{base}, UTC days {since} .. {until}"
    return f"{text} ({_filters_text(filters)})" if filters else text


def _spend(report: SpendReport) -> Tabulated:
    columns: list[Column] = []
    if report.grain is not None:
        columns += [
            Column("period", "period", "period"),
            Column("period_start", "from", "date", table=False),
            Column("period_end", "to", "date", table=False),
        ]
    if report.by is not None:
        columns.append(Column(report.by, report.by, "text"))
    columns += _SPEND_COLUMNS

    def flat(row: SpendRow) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if report.grain is not None and row.period is not None:
            out["period"] = period_label(row.period, report.grain)
            out["period_start"] = max(row.period, report.since)
            out["period_end"] = period_end(row.period, report.grain, report.until)
        if report.by is not None:
            out[report.by] = row.key
        out.update({name: getattr(row, name) for name in _SPEND_MEASURES})
        return out

    total: dict[str, Any] = {name: getattr(report.total, name) for name in _SPEND_MEASURES}
    if columns[0].kind in ("text", "period"):
        total[columns[0].name] = "total"
    base = _GRAIN_NAMES.get(report.grain or "", "Spend")
    base += " spend" if report.grain else ""
    if report.by:
        base += f" by {report.by}"
    meta = {
        "report": report.kind,
        "since": report.since,
        "until": report.until,
        "grain": report.grain,
        "by": report.by,
        "filters": report.filters.as_dict(),
    }
    title = _title(base, report.since, report.until, report.filters.as_dict())
    return Tabulated(title, meta, columns, [flat(r) for r in report.rows], total)


def _sessions(report: SessionsReport) -> Tabulated:
    meta: dict[str, Any] = {
        "report": "sessions",
        "since": report.since,
        "until": report.until,
        "by": report.by,
        "filters": report.filters.as_dict(),
        "limit": report.limit,
    }
    measures = ["turns", "total_tokens", "cost_usd"]
    if report.by is None:
        columns = [
            Column("session_id", "session", "text"),
            Column("user_id", "user", "text"),
            Column("team", "team", "text"),
            Column("harness", "harness", "text"),
            Column("repository", "repository", "text"),
            Column("started_at", "started (UTC)", "instant"),
            Column("last_call_at", "last call (UTC)", "instant", table=False),
            Column("duration_s", "duration", "seconds"),
            Column("turns", "turns", "count"),
            Column("total_tokens", "tokens", "count"),
            Column("cost_usd", "cost $", "usd"),
        ]
        rows = [
            {c.name: getattr(r, c.name) for c in columns} for r in report.rows if isinstance(r, SessionRow)
        ]
        total: dict[str, Any] = {"session_id": "total", **{m: getattr(report.total, m) for m in measures}}
        shown = len(rows)
        note = f"{report.total.sessions:,} sessions"
        if shown < report.total.sessions:
            note += f"; the costliest {shown:,} shown, the total covers all"
        meta["sessions"] = report.total.sessions
    else:
        columns = [
            Column(report.by, report.by, "text"),
            Column("sessions", "sessions", "count"),
            Column("turns", "turns", "count"),
            Column("total_tokens", "tokens", "count"),
            Column("cost_usd", "cost $", "usd"),
            Column("cost_per_session_usd", "$ / session", "usd"),
        ]
        rows = [
            {report.by: r.key, **{c.name: getattr(r, c.name) for c in columns[1:]}}
            for r in report.rows
            if isinstance(r, SessionGroupRow)
        ]
        total = {report.by: "total", **{c.name: getattr(report.total, c.name) for c in columns[1:]}}
        note = ""
    base = "Sessions" + (f" by {report.by}" if report.by else "")
    title = _title(base, report.since, report.until, report.filters.as_dict())
    return Tabulated(title, meta, columns, rows, total, note)


def _chargeback(report: ChargebackReport) -> Tabulated:
    columns = [
        Column("cost_centre", report.by, "text"),
        Column("calls", "calls", "count"),
        Column("cost_usd", "cost $", "usd"),
        Column("list_cost_usd", "list $", "usd"),
        Column("reported_cost_usd", "reported $", "usd"),
        Column("seat_list_cost_usd", "seat plan list $", "usd"),
        Column("billed_usd", "billed $", "usd"),
    ]
    rows = [{c.name: getattr(r, c.name) for c in columns} for r in report.rows]
    total = {c.name: getattr(report.total, c.name) for c in columns}
    meta = {
        "report": "chargeback",
        "month": report.month.strftime("%Y-%m"),
        "since": report.since,
        "until": report.until,
        "by": report.by,
    }
    note = (
        "billed: no billed dollars for this month (see `agent-spend reconcile`)"
        if report.total.billed_usd is None
        else "billed: each provider-day-model's bill split by the list cost of its metered calls"
    )
    title = f"Chargeback by {report.by}, {meta['month']} (UTC days {report.since} .. {report.until})"
    return Tabulated(title, meta, columns, rows, total, note)


_BUDGET_KINDS: dict[str, Kind] = {"period_start": "instant", "period_end": "instant", "percent": "count"}


def _budgets(report: BudgetsReport) -> Tabulated:
    names = list(report.rows[0]) if report.rows else []
    columns = [
        Column(n, n, _BUDGET_KINDS.get(n, "usd" if n.endswith("_usd") else "text"), table=n != "budget_id")
        for n in names
    ]
    meta = {"report": "budgets", "now": report.now}
    return Tabulated(
        f"Budgets at {report.now.astimezone(UTC):%Y-%m-%d %H:%M} UTC", meta, columns, report.rows, None
    )


def tabulate(report: SpendReport | SessionsReport | ChargebackReport | BudgetsReport) -> Tabulated:
    """Any report, flattened for rendering."""
    if isinstance(report, SpendReport):
        return _spend(report)
    if isinstance(report, SessionsReport):
        return _sessions(report)
    if isinstance(report, ChargebackReport):
        return _chargeback(report)
    return _budgets(report)


# -- cells ------------------------------------------------------------------------------------


def _table_cell(value: Any, kind: Kind) -> str:
    if value is None:
        return "" if kind == "text" else MISSING
    if kind == "usd":
        return f"{round_usd(value):,}"
    if kind == "count":
        return (
            f"{int(value):,}"
            if not isinstance(value, Decimal) or value == value.to_integral()
            else f"{value:,}"
        )
    if kind == "instant":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)
    if kind == "seconds":
        seconds = int(value)
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _plain(value: Any, kind: Kind) -> Any:
    """The JSON value of a cell."""
    if value is None:
        return None
    if kind == "usd":
        return exact_usd(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if kind == "count" and isinstance(value, Decimal | int):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain(v, "text") for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, "text") for k, v in value.items()}
    return value


def _csv_cell(value: Any, kind: Kind) -> str:
    if value is None:
        return ""
    plain = _plain(value, kind)
    return json.dumps(plain) if isinstance(plain, list | dict) else str(plain)


# -- renderers --------------------------------------------------------------------------------


def as_json(report: SpendReport | SessionsReport | ChargebackReport | BudgetsReport) -> dict[str, Any]:
    """The JSON document of a report (what `--format json` prints and the API serves)."""
    flat = tabulate(report)
    doc = {k: _plain(v, "text") for k, v in flat.meta.items()}
    doc["rows"] = [{c.name: _plain(row.get(c.name), c.kind) for c in flat.columns} for row in flat.rows]
    if flat.total is not None:
        doc["total"] = {
            c.name: _plain(flat.total[c.name], c.kind)
            for c in flat.columns
            if c.name in flat.total and c.kind in ("count", "usd", "seconds")
        }
    return doc


def render_json(report: SpendReport | SessionsReport | ChargebackReport | BudgetsReport) -> str:
    """The JSON document, indented."""
    return json.dumps(as_json(report), indent=2)


def render_csv(report: SpendReport | SessionsReport | ChargebackReport | BudgetsReport) -> str:
    """A header line, then one line per row; no totals line (a spreadsheet sums the columns)."""
    flat = tabulate(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in flat.columns])
    for row in flat.rows:
        writer.writerow([_csv_cell(row.get(c.name), c.kind) for c in flat.columns])
    return out.getvalue()


def render_table(report: SpendReport | SessionsReport | ChargebackReport | BudgetsReport) -> str:
    """The title, an aligned table, a rule and the totals row (and a note, if any)."""
    flat = tabulate(report)
    columns = [c for c in flat.columns if c.table]
    lines = [flat.title, ""]
    if not flat.rows:
        lines.append("No spend in this range.")
        return "\n".join(lines)
    body = [[_table_cell(row.get(c.name), c.kind) for c in columns] for row in flat.rows]
    total = [_table_cell(flat.total.get(c.name), c.kind) for c in columns] if flat.total is not None else None
    lines += aligned(
        [c.header for c in columns], body, total, [c.kind not in ("text", "period") for c in columns]
    )
    if flat.note:
        lines += ["", flat.note]
    return "\n".join(lines)


def aligned(
    header: Sequence[str], rows: list[list[str]], total: list[str] | None, numeric: Sequence[bool]
) -> list[str]:
    """Columns padded to their widest cell: text left-aligned, figures right-aligned; a rule under the
    header and above the totals row."""
    every = [list(header), *rows, *([total] if total else [])]
    widths = [max(len(r[i]) for r in every) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    rule = line(["-" * w for w in widths])
    out = [line(header), rule, *(line(r) for r in rows)]
    if total:
        out += [rule, line(total)]
    return out


def render(report: SpendReport | SessionsReport | ChargebackReport | BudgetsReport, fmt: str) -> str:
    """`report` in the format `fmt` (table, json or csv)."""
    if fmt == "json":
        return render_json(report)
    if fmt == "csv":
        return render_csv(report)
    return render_table(report)
