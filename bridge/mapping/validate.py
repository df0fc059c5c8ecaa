"""The edge check every mapped model call passes before pricing: nothing the database could refuse.

One place, called by `bridge.mapping._map_all` for every adapter's output, so no adapter has to
remember it. A call is rejected (a `Rejected` naming the field, reported in `partial_success`
and counted in `ingest_rejections`) when a value would make PostgreSQL refuse the row, and so
fail the batch it is written in:

- text columns holding NUL or another control character (tab, newline and carriage return are
  allowed in free text: cwd, finish reasons), or text that is not valid UTF-8 (a lone
  surrogate from a JSON body); the error message alone is cleaned and cut instead;
- indexed text longer than `config.MAX_NAME_CHARS` (identity, team, model, provider, session,
  repository, branch, machine, harness, source), ids longer than `config.MAX_ID_CHARS`,
  a dedup key longer than `config.MAX_DEDUP_KEY_CHARS`, free text over `config.MAX_TEXT_CHARS`;
- a span whose trace id is not 16 bytes or span id not 8 bytes, or all zero (invalid per
  W3C trace context); a log record's ids are optional, but when present they must be valid too
  (all zero counts as absent);
- a dashboard filter value (team, user, model, harness, repository, environment) equal to the
  dashboards' "All" value, `config.ALL_SENTINEL`;
- token buckets below 0 or above `config.MAX_TOKENS_PER_BUCKET`; reported costs that are not
  finite, negative, or not below `config.MAX_COST_USD`; a duration that is not finite.

Attributes are display-only (a JSONB column): NUL is stripped from their keys and string values
instead of rejecting the call, and text that is not valid UTF-8 has the offending code points
replaced. Rejection examples are cleaned the same way (`safe_example`), since they are stored
as JSONB too.
"""

from __future__ import annotations

import math
import operator
import re
from decimal import Decimal
from typing import Any

from bridge import config
from bridge.model import (
    CONTROL_CHARS,
    INHERITED_FIELDS,
    Identity,
    ModelCall,
    Rejected,
    SpanContext,
    clean_str,
    clean_value,
    safe_example,
    safe_reason,
    utf8,
)

__all__ = ["check_text", "safe_example", "safe_reason", "valid_id", "validate_call", "validate_context"]

# C0 controls and DEL; free text may keep tab, newline and carriage return.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEX = re.compile(r"[0-9a-f]*")

# (field, cap): indexed or label-like text, where any control character is refused.
_NAME_FIELDS = (
    "source",
    "model",
    "request_model",
    "response_model",
    "provider",
    "api_dialect",
    "operation",
    "stop_reason",
)
_IDENTITY_FIELDS = (
    "user_id",
    "team",
    "machine_id",
    "session_id",
    "environment",
    "workspace_repo",
    "workspace_branch",
    "harness_name",
    "harness_version",
)
_COST_FIELDS = ("input", "output", "cache_read", "cache_write", "total")
_TOKEN_FIELDS = (
    ("input_tokens", "input"),
    ("output_tokens", "output"),
    ("cache_read_tokens", "cache_read"),
    ("cache_write_tokens", "cache_write"),
    ("reasoning_tokens", "reasoning"),
)
MAX_COST = Decimal(config.MAX_COST_USD)
_TOKEN_VALUES = operator.attrgetter(*(attr for _, attr in _TOKEN_FIELDS))
_COST_VALUES = operator.attrgetter(*_COST_FIELDS)


# The values of _IDENTITY_FIELDS and _NAME_FIELDS, in their order, spelled out rather than
# read by attrgetter: compiled, these are direct reads of the native classes' fields, where an
# attrgetter goes through the generic getattr per field (about a tenth of validating a call's
# instructions). tests/test_integrity.py checks that every field of both lists is refused
# when it holds a control character, which a field left out here would let through.
def _identity_values(ident: Identity) -> tuple[Any, ...]:
    return (
        ident.user_id,
        ident.team,
        ident.machine_id,
        ident.session_id,
        ident.environment,
        ident.workspace_repo,
        ident.workspace_branch,
        ident.harness_name,
        ident.harness_version,
    )


def _name_values(call: ModelCall) -> tuple[Any, ...]:
    return (
        call.source,
        call.model,
        call.request_model,
        call.response_model,
        call.provider,
        call.api_dialect,
        call.operation,
        call.stop_reason,
    )


def _all_plain_names(values: tuple[Any, ...]) -> bool:
    """True when every value is None or short printable ASCII text, so `check_text` would pass
    each one (the usual case, decided at once); False sends them through `check_text`."""
    present = [v for v in values if v is not None]
    if not present:
        return True
    try:
        joined = "".join(present)
    except TypeError:
        return False
    return joined.isascii() and joined.isprintable() and max(map(len, present)) <= config.MAX_NAME_CHARS


def check_text(field: str, value: str | None, cap: int, *, free_text: bool = False) -> None:
    """Raise `Rejected` naming `field` when `value` cannot be stored in an (indexed) text column."""
    if value is None:
        return
    if len(value) > cap:
        raise Rejected(f"{field}: longer than {cap} characters ({len(value)})")
    if value.isascii() and value.isprintable():  # the usual case, decided in C: nothing to refuse
        return
    if (_CONTROL_IN_TEXT if free_text else CONTROL_CHARS).search(value):
        what = "a NUL character" if "\x00" in value else "a control character"
        raise Rejected(f"{field}: contains {what}")
    if not utf8(value):
        raise Rejected(f"{field}: not valid UTF-8")


def valid_id(value: str, nbytes: int) -> bool:
    """A W3C trace-context id as lowercase hex: exactly `nbytes` bytes, not all zero."""
    return len(value) == 2 * nbytes and _HEX.fullmatch(value) is not None and value.strip("0") != ""


def _check_ids(call: ModelCall) -> None:
    if call.signal == "trace":
        if not valid_id(call.trace_id or "", 16):
            raise Rejected("trace_id: empty or invalid (must be 16 bytes, not all zero)")
        if not valid_id(call.span_id or "", 8):
            raise Rejected("span_id: empty or invalid (must be 8 bytes, not all zero)")
        return
    # Log records: ids are optional context; all zero means none.
    for field, nbytes in (("trace_id", 16), ("span_id", 8)):
        value = getattr(call, field)
        if value is None or value == "" or (len(value) == 2 * nbytes and value.strip("0") == ""):
            setattr(call, field, None)
        elif not valid_id(value, nbytes):
            raise Rejected(f"{field}: invalid (must be {nbytes} bytes when present)")


def _bad_str(value: str) -> bool:
    return "\x00" in value or not (value.isascii() or utf8(value))


def _needs_cleaning(value: Any) -> bool:
    """Whether any key or string in `value` holds NUL or invalid UTF-8, or a float is not finite.

    This runs for every call on the ingest path, over attribute maps that are usually flat:
    a map's keys and string values are checked joined (NUL, ASCII and UTF-8 hold for a join
    exactly when they hold for every part), and only its other values are walked."""
    if type(value) is not dict:
        return _walk_needs_cleaning([value])
    try:
        keys = "".join(value)
    except TypeError:
        return True  # a key that is not a string
    values = value.values()
    strings = "".join([v for v in values if type(v) is str])
    if _bad_str(keys) or _bad_str(strings):
        return True
    rest = [v for v in values if not (type(v) in _PLAIN or v is None)]
    return bool(rest) and _walk_needs_cleaning(rest)


_PLAIN = frozenset({str, int, bool})


def _walk_needs_cleaning(pending: list[Any]) -> bool:
    """The general walk: nested maps and lists, strings checked where they are found."""
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str:
            if _bad_str(item):
                return True
        elif kind is dict:
            for key, inner in item.items():
                if not isinstance(key, str) or _bad_str(key):
                    return True
                inner_kind = type(inner)
                if inner_kind is str:
                    if _bad_str(inner):
                        return True
                elif inner_kind is dict or inner_kind is list or inner_kind is float:
                    pending.append(inner)
        elif kind is list:
            pending.extend(item)
        elif kind is float and not math.isfinite(item):
            return True
    return False


def _check_numbers(call: ModelCall) -> None:
    """Counts are ints within bounds, reported costs finite Decimals within bounds (the usual
    call is decided without naming fields); the first value that is not names its field."""
    tokens = _TOKEN_VALUES(call.tokens)
    if not (
        all(type(v) is int for v in tokens)
        and min(tokens) >= 0
        and max(tokens) <= config.MAX_TOKENS_PER_BUCKET
    ):
        _refuse_tokens(call)
    for cost in _COST_VALUES(call.reported):
        if cost is not None and not (type(cost) is Decimal and cost.is_finite() and 0 <= cost < MAX_COST):
            _refuse_costs(call)
            break
    if call.duration_ms is not None and not (
        math.isfinite(call.duration_ms) and abs(call.duration_ms) < 1e15
    ):
        call.duration_ms = None  # informational: dropped, not worth a rejection


def _refuse_tokens(call: ModelCall) -> None:
    for field, attr in _TOKEN_FIELDS:
        value = getattr(call.tokens, attr)
        if not isinstance(value, int) or value < 0 or value > config.MAX_TOKENS_PER_BUCKET:
            raise Rejected(f"{field}: {value!r} is not between 0 and {config.MAX_TOKENS_PER_BUCKET:,}")


def _refuse_costs(call: ModelCall) -> None:
    for name in _COST_FIELDS:
        cost = getattr(call.reported, name)
        if cost is None:
            continue
        if not isinstance(cost, Decimal) or not cost.is_finite() or cost < 0 or cost >= MAX_COST:
            raise Rejected(
                f"reported_cost.{name}: {cost} is not a dollar amount between 0 and {config.MAX_COST_USD:,}"
            )


def _filter_values(call: ModelCall) -> tuple[tuple[str, str | None], ...]:
    """The values the dashboards filter on, by field name."""
    ident = call.identity
    return (
        ("environment", ident.environment),
        ("team", ident.team),
        ("user_id", ident.user_id),
        ("model", call.model),
        ("harness_name", ident.harness_name),
        ("workspace_repo", ident.workspace_repo),
    )


def _all_plain_text(call: ModelCall) -> bool:
    """True when every text field `validate_call` checks is None or short printable ASCII, and
    none is the dashboards' All value: then no check of `_check_text_fields` can fail, and the
    usual call is decided with one join and a few length tests. False means "run the checks"."""
    try:
        return _plain_text(call)
    except TypeError:  # a value that is not text: the checks name it
        return False


def _plain_text(call: ModelCall) -> bool:
    # config is not compiled: each `config.X` is a module attribute lookup, so the caps are read
    # once here rather than per value.
    name_cap, text_cap = config.MAX_NAME_CHARS, config.MAX_TEXT_CHARS
    ident = call.identity
    names = (*_identity_values(ident), *_name_values(call))
    if config.ALL_SENTINEL in names:
        return False
    cwd, event_id, dedup_key = ident.workspace_cwd, call.event_id, call.dedup_key
    reasons = call.finish_reasons or ()
    parts = [v for v in names if v is not None]
    if not parts:
        return False  # no names at all cannot happen (source, model)
    for part in parts:
        if len(part) > name_cap:
            return False  # refused by the checks, which name the field
    if cwd is not None:
        if len(cwd) > text_cap:
            return False
        parts.append(cwd)
    if event_id is not None:
        if len(event_id) > config.MAX_ID_CHARS:
            return False
        parts.append(event_id)
    if not dedup_key or len(dedup_key) > config.MAX_DEDUP_KEY_CHARS:
        return False
    parts.append(dedup_key)
    for reason in reasons:
        if len(reason) > text_cap:
            return False
        parts.append(reason)
    try:
        joined = "".join(parts)
    except TypeError:
        return False
    return joined.isascii() and joined.isprintable()


def validate_call(call: ModelCall, *, attributes_clean: bool = False) -> ModelCall:
    """Check (and, for display-only attributes, clean) one mapped call; raise `Rejected` naming the field.

    `attributes_clean`: the caller knows `call.attributes` holds nothing to clean (they are the
    record's own, checked while flattened: `SpanRecord.attrs_clean`), so they are not walked."""
    _check_ids(call)
    if not _all_plain_text(call):
        _check_text_fields(call)
    if call.error is not None:  # a status message: cleaned and cut, never worth a rejection
        call.error = _CONTROL_IN_TEXT.sub("", clean_str(call.error[: config.MAX_TEXT_CHARS]))
    _check_numbers(call)
    if not attributes_clean and _needs_cleaning(call.attributes):
        call.attributes = clean_value(call.attributes)
    return call


def _check_text_fields(call: ModelCall) -> None:
    """Every text check of a call, in order: the first that fails names the field."""
    ident = call.identity
    names_ok = _all_plain_names((*_identity_values(ident), *_name_values(call)))
    if not names_ok:
        for field in _IDENTITY_FIELDS:
            check_text(field, getattr(ident, field), config.MAX_NAME_CHARS)
    for field, value in _filter_values(call):
        if value == config.ALL_SENTINEL:
            raise Rejected(f"{field}: {value!r} is reserved (the dashboards' All value)")
    check_text("workspace_cwd", ident.workspace_cwd, config.MAX_TEXT_CHARS, free_text=True)
    if not names_ok:
        for field in _NAME_FIELDS:
            check_text(field, getattr(call, field), config.MAX_NAME_CHARS)
    check_text("event_id", call.event_id, config.MAX_ID_CHARS)
    check_text("dedup_key", call.dedup_key, config.MAX_DEDUP_KEY_CHARS)
    if not call.dedup_key:
        raise Rejected("dedup_key: empty")
    for reason in call.finish_reasons or ():
        check_text("finish_reasons", reason, config.MAX_TEXT_CHARS, free_text=True)


def validate_context(ctx: SpanContext) -> SpanContext | None:
    """A span context fit to store, or None when its ids are not valid trace-context ids.

    A context is not a call: a field the database could refuse (too long, a control
    character, the dashboards' All value) is dropped, so it is simply not inherited, instead
    of rejecting anything. Inherited values therefore pass the same checks as a call's own.
    """
    if not valid_id(ctx.trace_id, 16) or not valid_id(ctx.span_id, 8):
        return None
    if ctx.parent_span_id is not None and not valid_id(ctx.parent_span_id, 8):
        ctx.parent_span_id = None
    ident = ctx.identity
    for name in INHERITED_FIELDS:
        value = getattr(ident, name)
        if value is None:
            continue
        free = name == "workspace_cwd"  # a path, as on a call
        try:
            check_text(name, value, config.MAX_TEXT_CHARS if free else config.MAX_NAME_CHARS, free_text=free)
        except Rejected:
            setattr(ident, name, None)
            continue
        if value == config.ALL_SENTINEL or value == "unknown":
            setattr(ident, name, None)
    return ctx
