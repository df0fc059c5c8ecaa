"""`agent-spend reconcile import FILE`: the providers' console CSV exports into billing_lines.

For users without an admin key. The format is detected from the header row (names are
compared lower-cased and trimmed; a UTF-8 BOM, extra columns and column order do not
matter; a header with tabs and no commas is read as TSV):

Anthropic Console usage and cost exports, OpenAI usage (activity) and cost exports:
`FORMATS` below lists, per format, the header names accepted for each field (in a row, the
first of them with a value wins) and the fields that must be present; docs/reconcile.md shows them as a table.

Tokens are stored in disjoint buckets as the API pulls store them. Counts written as
"59200.0" are accepted when whole. A row whose figures are all blank (OpenAI exports list
days without usage that way) only marks its day as covered. Every day from the file's first
to its last is replaced for that (provider, report) in one transaction, so importing the same
file again changes nothing and a newer export of the same days replaces the older one. A bad
value is reported with its line number and column name.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

import psycopg

from bridge.admin.reconcile.openai import model_of_line_item
from bridge.admin.reconcile.pull import BillingLine, last_complete_day, replace_days

Provider = Literal["anthropic", "openai"]
Kind = Literal["usage", "cost"]


class CsvFormatError(ValueError):
    """The file is not one of the accepted exports, or a value in it is not what its column says."""


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """One accepted export: its provider and kind, and the header names of each field."""

    name: str
    provider: Provider
    kind: Kind
    fields: dict[str, tuple[str, ...]]  # field -> accepted header names, preferred first
    required: tuple[str, ...]

    @property
    def report(self) -> str:
        return f"csv_{self.kind}"


DAY_ISO = ("usage_date_utc", "date", "starting_at")
FORMATS: tuple[CsvFormat, ...] = (
    CsvFormat(
        "anthropic-usage",
        "anthropic",
        "usage",
        {
            "day": DAY_ISO,
            "model": ("model_version", "model"),
            "account": ("api_key_id", "api_key", "workspace_id", "workspace"),
            "input": ("usage_input_tokens_no_cache", "uncached_input_tokens"),
            "cache_read": ("usage_input_tokens_cache_read", "cache_read_input_tokens"),
            "cache_write_5m": ("usage_input_tokens_cache_write_5m", "cache_creation_5m_input_tokens"),
            "cache_write_1h": ("usage_input_tokens_cache_write_1h", "cache_creation_1h_input_tokens"),
            "output": ("usage_output_tokens", "output_tokens"),
        },
        ("day", "input", "output"),
    ),
    CsvFormat(
        "anthropic-cost",
        "anthropic",
        "cost",
        {
            "day": ("usage_date_utc", "date"),
            "cost": ("cost_usd",),
            "model": ("model",),
            "account": ("api_key_id", "api_key", "workspace_id", "workspace"),
            "description": ("description",),
            "usage_type": ("usage_type",),
            "cost_type": ("cost_type",),
            "token_type": ("token_type",),
            "context_window": ("context_window",),
            "speed": ("speed",),
        },
        ("day", "cost"),
    ),
    CsvFormat(
        "openai-usage",
        "openai",
        "usage",
        {
            "day": ("start_time", "start_time_iso"),
            "model": ("model",),
            "account": ("api_key_id", "project_id"),
            "user": ("user_id",),
            "requests": ("num_model_requests",),
            "input": ("input_tokens",),
            "cached": ("input_cached_tokens",),
            "output": ("output_tokens",),
        },
        ("day", "requests", "input", "output"),
    ),
    CsvFormat(
        "openai-cost",
        "openai",
        "cost",
        {
            "day": ("start_time", "start_time_iso"),
            "cost": ("amount_value",),
            "currency": ("amount_currency",),
            "line_item": ("line_item",),
            "account": ("project_id",),
        },
        ("day", "cost"),
    ),
)
# Fields that carry figures: a row with all of them blank only marks its day.
FIGURES = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "requests", "cached", "cost")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one import wrote: the detected format and the days it replaced."""

    provider: str
    report: str
    format: str
    first: date | None
    last: date | None
    days: int
    rows: int
    lines: int


def detect(header: Sequence[str]) -> tuple[CsvFormat, dict[str, list[int]]]:
    """The export format a header row names, and each field's column indexes (preferred first)."""
    names = [h.strip().lower() for h in header]
    for fmt in FORMATS:
        columns: dict[str, list[int]] = {}
        for field, accepted in fmt.fields.items():
            found = [names.index(name) for name in accepted if name in names]
            if found:
                columns[field] = found
        if all(field in columns for field in fmt.required):
            return fmt, columns
    accepted_lines = "; ".join(
        f"{fmt.name}: " + ", ".join("/".join(fmt.fields[f]) for f in fmt.required) for fmt in FORMATS
    )
    shown = ", ".join(names[:20]) or "(empty)"
    raise CsvFormatError(f"unrecognised header ({shown}); expected one of: {accepted_lines}")


class _Row:
    def __init__(
        self, values: list[str], columns: dict[str, list[int]], header: list[str], line: int
    ) -> None:
        self.values, self.columns, self.header, self.line = values, columns, header, line

    def _index(self, field: str) -> int | None:
        """The field's first column with a value in this row (else its first column)."""
        indexes = self.columns.get(field, [])
        for index in indexes:
            if index < len(self.values) and self.values[index].strip():
                return index
        return indexes[0] if indexes else None

    def text(self, field: str) -> str:
        index = self._index(field)
        if index is None or index >= len(self.values):
            return ""
        return self.values[index].strip()

    def fail(self, field: str, problem: str) -> CsvFormatError:
        index = self._index(field)
        column = self.header[index].strip() if index is not None else field
        return CsvFormatError(f"line {self.line}, column {column!r}: {problem}")

    def count(self, field: str) -> int:
        raw = self.text(field)
        if not raw:
            return 0
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise self.fail(field, f"{raw[:40]!r} is not a number") from None
        if not value.is_finite() or value != value.to_integral_value() or value < 0:
            raise self.fail(field, f"{raw[:40]!r} is not a non-negative whole number")
        return int(value)

    def money(self, field: str) -> Decimal | None:
        raw = self.text(field).removeprefix("$")
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise self.fail(field, f"{raw[:40]!r} is not an amount") from None
        if not value.is_finite():
            raise self.fail(field, f"{raw[:40]!r} is not an amount")
        return value

    def day(self) -> date:
        raw = self.text("day")
        if not raw:
            raise self.fail("day", "no date")
        try:
            if raw.replace(".", "", 1).isdigit():
                return datetime.fromtimestamp(float(raw), UTC).date()
            if len(raw) == 10:
                return date.fromisoformat(raw)
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except (ValueError, OverflowError, OSError):
            raise self.fail("day", f"{raw[:40]!r} is not a date, timestamp or Unix time") from None
        return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def _line(fmt: CsvFormat, row: _Row, day: date) -> BillingLine | None:
    if all(not row.text(field) for field in FIGURES if field in fmt.fields):
        return None
    line = BillingLine(
        provider=fmt.provider,
        report=fmt.report,
        day=day,
        model=row.text("model"),
        account=row.text("account"),
    )
    if fmt.name == "anthropic-usage":
        return replace(
            line,
            input_tokens=row.count("input"),
            output_tokens=row.count("output"),
            cache_read_tokens=row.count("cache_read"),
            cache_write_tokens=row.count("cache_write_5m") + row.count("cache_write_1h"),
        )
    if fmt.name == "anthropic-cost":
        parts = [
            row.text(f) for f in ("description", "usage_type", "cost_type", "token_type", "context_window")
        ]
        parts.append(row.text("speed"))
        return replace(
            line, line_item=", ".join(p for p in parts if p), cost_usd=row.money("cost") or Decimal(0)
        )
    if fmt.name == "openai-usage":
        total, cached = row.count("input"), row.count("cached")
        if cached > total:
            raise row.fail("cached", "input_cached_tokens exceeds input_tokens (which includes them)")
        return replace(
            line,
            user_ref=row.text("user"),
            requests=row.count("requests"),
            input_tokens=total - cached,
            output_tokens=row.count("output"),
            cache_read_tokens=cached,
        )
    # openai-cost
    currency = row.text("currency")
    if currency and currency.lower() != "usd":
        raise row.fail("currency", f"{currency[:10]!r}: only usd is stored")
    line_item = row.text("line_item")
    return replace(
        line,
        model=model_of_line_item(line_item),
        line_item=line_item,
        cost_usd=row.money("cost") or Decimal(0),
    )


def parse(text: str) -> tuple[CsvFormat, list[BillingLine], set[date], int]:
    """(format, lines, days covered, data rows) of one export's text."""
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("the file is empty") from None
    except csv.Error as exc:
        raise CsvFormatError(f"line 1: {exc}") from None
    fmt, columns = detect(header)
    lines: list[BillingLine] = []
    days: set[date] = set()
    rows = 0
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            rows += 1
            row = _Row(values, columns, header, reader.line_num)
            day = row.day()
            days.add(day)
            line = _line(fmt, row, day)
            if line is not None:
                lines.append(line)
    except csv.Error as exc:
        raise CsvFormatError(f"line {reader.line_num}: {exc}") from None
    return fmt, lines, days, rows


def import_csv(
    conn: psycopg.Connection,
    path: Path,
    *,
    now: datetime,
    provider: Provider | None = None,
    kind: Kind | None = None,
) -> ImportResult:
    """Detect, check against the expected provider/kind, and replace the file's days."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFormatError("not UTF-8 text") from None
    fmt, lines, days, rows = parse(text)
    if provider is not None and provider != fmt.provider:
        raise CsvFormatError(f"this is an {fmt.name} export, not {provider}")
    if kind is not None and kind != fmt.kind:
        raise CsvFormatError(f"this is an {fmt.name} export, not {kind}")
    if not days:
        return ImportResult(fmt.provider, fmt.report, fmt.name, None, None, 0, rows, 0)
    first, last = min(days), max(days)
    closed = last_complete_day(now)
    written = replace_days(
        conn,
        fmt.provider,
        fmt.report,
        first,
        last,
        lines,
        now=now,
        complete_through=min(last, closed) if first <= closed else None,
    )
    return ImportResult(
        fmt.provider, fmt.report, fmt.name, first, last, (last - first).days + 1, rows, written
    )
