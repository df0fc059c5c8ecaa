"""A priced model call → one row of `agent_spend_logs`, in COPY column order."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import orjson

from bridge.model import INHERITED_FIELDS  # the domain model imports nothing: still light

if TYPE_CHECKING:  # keep this module light: reprice's CLI imports it at start-up
    from bridge.model import ModelCall, SpanContext
    from bridge.pricing.pricer import Costs

# What pricing decides; also what a later copy of a call may complete (see writer.py).
COST_COLUMNS: tuple[str, ...] = (
    "input_cost_usd",
    "output_cost_usd",
    "cache_read_cost_usd",
    "cache_write_cost_usd",
    "total_cost_usd",
    "cost_estimation",
    "reported_cost_usd",
    "list_cost_usd",
    "cost_source",
    "price_version",
)
# Columns the bridge writes; the rest (id, ingest_ts) are defaulted by the database.
COLUMNS: tuple[str, ...] = (
    "dedup_key",
    "ts",
    "trace_id",
    "span_id",
    "event_id",
    "source",
    "signal",
    "user_id",
    "team",
    "machine_id",
    "session_id",
    "workspace_cwd",
    "workspace_repo",
    "workspace_branch",
    "workspace_is_ci",
    "environment",
    "provider",
    "request_model",
    "response_model",
    "model",
    "harness_name",
    "harness_version",
    "api_dialect",
    "operation",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    *COST_COLUMNS,
    "duration_ms",
    "status",
    "error",
    "stop_reason",
    "finish_reasons",
    "attributes",
)

# Staged beside each row, never stored in agent_spend_logs: where its identity may be
# inherited from (the parent span) and who sent it (contexts of another sender never apply).
STAGING_EXTRAS: tuple[str, ...] = ("parent_span_id", "sender")
# A trace_spans row (schema/migrations/0009_trace_context.sql), in COPY order.
CONTEXT_COLUMNS: tuple[str, ...] = ("sender", "trace_id", "span_id", "parent_span_id", *INHERITED_FIELDS)

UNKNOWN = "unknown"
# json.dumps(value, default=str, ensure_ascii=False), without building an encoder per row: the
# fallback for what orjson refuses (ints beyond 64 bits, keys that are not strings, text that
# is not valid UTF-8, nesting deeper than 254).
_json_attributes = json.JSONEncoder(default=str, ensure_ascii=False).encode
# orjson's own spellings of dates, times and dataclasses are passed to `default=str` instead,
# so they are stored as json's `default=str` stored them.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def attributes_json(attributes: dict[str, Any]) -> str:
    """The attributes as JSON text for the JSONB column: orjson (about ten times faster), whose
    text differs from `json.dumps` (no spaces, `1e300` for `1e+300`) but whose JSONB value is
    the same (tests/test_row_json.py). COPY takes the column as text, hence the decode."""
    try:
        return orjson.dumps(attributes, default=str, option=_ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return _json_attributes(attributes)


def context_row(ctx: SpanContext, sender: str = "") -> tuple[Any, ...]:
    """CONTEXT_COLUMNS, spelled out (this runs per span): the order of model.INHERITED_FIELDS."""
    ident = ctx.identity
    return (
        sender,
        ctx.trace_id,
        ctx.span_id,
        ctx.parent_span_id,
        ident.user_id,
        ident.team,
        ident.session_id,
        ident.machine_id,
        ident.environment,
        ident.workspace_cwd,
        ident.workspace_repo,
        ident.workspace_branch,
    )


FINISH_REASONS = COLUMNS.index("finish_reasons")
TEAM = COLUMNS.index("team")
NCOLS = len(COLUMNS)


def text_array(values: list[str] | None) -> str | None:
    """A list of strings as PostgreSQL's array literal, every element quoted and escaped.

    Why: psycopg dumps a Python list through its pure-Python ListDumper, which looks up a
    dumper per element and runs a regex over each one; on the writer's COPY that was most of
    the client's cost per row. Quoting every element means no value is read as NULL, and
    spaces, commas and braces stay data; PostgreSQL parses the literal into the same text[]."""
    if values is None:
        return None
    return "{" + ",".join(['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]) + "}"


def copy_row(row: tuple[Any, ...], team: str | None = None) -> tuple[Any, ...]:
    """The COLUMNS part of a staged row as COPY writes it: finish_reasons as an array literal
    (see text_array) and, when given, `team` in place of a missing one."""
    reasons = text_array(row[FINISH_REASONS])
    if team is None or row[TEAM] is not None:
        return (*row[:FINISH_REASONS], reasons, *row[FINISH_REASONS + 1 : NCOLS])
    return (*row[:TEAM], team, *row[TEAM + 1 : FINISH_REASONS], reasons, *row[FINISH_REASONS + 1 : NCOLS])


def to_row(call: ModelCall, costs: Costs, sender: str = "") -> tuple[Any, ...]:
    """COLUMNS, then STAGING_EXTRAS."""
    ident = call.identity
    tokens = call.tokens
    return (
        call.dedup_key,
        call.ts,
        call.trace_id,
        call.span_id,
        call.event_id,
        call.source,
        call.signal,
        ident.user_id or UNKNOWN,
        ident.team,  # None: resolved from `users` at insert time
        ident.machine_id,
        ident.session_id,
        ident.workspace_cwd,
        ident.workspace_repo,
        ident.workspace_branch,
        ident.workspace_is_ci,
        ident.environment or UNKNOWN,
        call.provider or UNKNOWN,
        call.request_model,
        call.response_model,
        call.model,
        ident.harness_name or UNKNOWN,
        ident.harness_version,
        call.api_dialect,
        call.operation,
        tokens.input,
        tokens.output,
        tokens.cache_read,
        tokens.cache_write,
        tokens.reasoning,
        costs.input,
        costs.output,
        costs.cache_read,
        costs.cache_write,
        costs.total,
        costs.estimation,
        costs.reported_total,
        costs.list_total,
        costs.source,
        costs.price_version,
        call.duration_ms,
        call.status,
        call.error,
        call.stop_reason,
        call.finish_reasons,
        attributes_json(call.attributes),
        call.parent_span_id,
        sender,
    )
