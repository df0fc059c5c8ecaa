"""What every adapter does the same way: read counts, pick a dedup key, and build the ModelCall.

Adapters decide *what* a source's numbers mean; this module makes sure the parts that must be
identical across sources (timestamps, error status, trace ids, content stripping, key shapes)
are written once, so the same call seen through two signals can land on the same key.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from bridge.mapping.attributes import (
    MAX_TOKENS_PER_CALL,
    Attributes,
    InvalidNumber,
    text,
    token_count,
    without_content,
)
from bridge.mapping.records import LogRecord, SpanRecord, ns_to_datetime
from bridge.model import Identity, ModelCall, Rejected, ReportedCost, Tokens

RESPONSE_ID_KEYS = ("gen_ai.response.id",)

# A call more than this far in the future is a broken clock, not a call.
MAX_FUTURE_SECONDS = 24 * 3600
EARLIEST_NS = 1_577_836_800 * 1_000_000_000  # 2020-01-01


def checked_start_ns(start_ns: int, field: str) -> int:
    if start_ns < EARLIEST_NS:
        raise Rejected(f"{field} is missing or before 2020 ({start_ns})")
    if start_ns > (time.time() + MAX_FUTURE_SECONDS) * 1_000_000_000:
        raise Rejected(f"{field} is more than a day in the future ({start_ns})")
    return start_ns


def rfc3339_ns(value: object) -> int | None:
    """An RFC 3339 timestamp attribute (`2026-01-02T10:00:00.123Z`) in ns; None if absent or unparsable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # a wall-clock time without an offset names no instant
    return int(parsed.timestamp()) * 1_000_000_000 + parsed.microsecond * 1000


def finish_reasons(raw: object) -> list[str] | None:
    if isinstance(raw, list):
        return [str(f) for f in raw]
    return [str(raw)] if raw not in (None, "") else None


def count(attrs: Mapping[str, Any], *keys: str) -> int | None:
    """A token count, with a bad value turned into a rejection that names the attribute."""
    try:
        return token_count(attrs, *keys)
    except InvalidNumber as exc:
        raise Rejected(str(exc)) from None


def counts(attrs: Mapping[str, Any], table: tuple[tuple[str, ...], ...]) -> list[int | None]:
    """`[count(attrs, *keys) for keys in table]` in one loop; in-range ints (the usual case)
    are taken as they are, anything else goes through `count` for the key that holds it."""
    get = attrs.get
    out: list[int | None] = []
    append = out.append
    for keys in table:
        for key in keys:
            raw = get(key)
            if type(raw) is int and 0 <= raw <= MAX_TOKENS_PER_CALL:
                append(raw)
                break
            if raw is None or raw == "":
                continue
            append(count(attrs, key))
            break
        else:
            append(None)
    return out


def required_model(attrs: Mapping[str, Any], what: str, *keys: str) -> str:
    model = text(attrs, *keys)
    if not model:
        names = " or ".join(repr(k) for k in keys)
        raise Rejected(f"{what} has token usage but no model attribute ({names})")
    return model


def short_hash(*parts: object) -> str:
    """Stable across processes and re-sends: JSON of the parts, never Python's salted hash()."""
    payload = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def response_key(attrs: Mapping[str, Any], *keys: str) -> str | None:
    """The provider's response id names exactly one billed call, whichever signal carries it.

    A span and the inference event emitted inside it, a replayed sub-agent span, or a
    transcript re-read that re-emits every content block of one message all share it.
    """
    response_id = text(attrs, *(keys or RESPONSE_ID_KEYS))
    return f"resp:{response_id}" if response_id else None


def span_key(span: SpanRecord) -> str:
    return f"span:{span.trace_id}:{span.span_id}"


def record_hash(record: LogRecord) -> str:
    """For log records with no id at all: an identical re-send hashes equal.

    Kept byte-for-byte as the first release computed it, so keys already stored still match.
    """
    payload = json.dumps(
        [record.time_ns, record.event_name, record.attrs, record.resource.get("service.name")],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def log_hash_key(record: LogRecord) -> str:
    return f"log:{record_hash(record)}"


def _call(
    *,
    ts_ns: int,
    signal: Literal["trace", "log"],
    trace_id: str | None,
    span_id: str | None,
    raw_attrs: Attributes,
    duration_ms: float | None,
    error: str | None,
    reported: ReportedCost | None,
    finish: object,
    source: str,
    dedup_key: str,
    model: str,
    tokens: Tokens,
    identity: Identity,
    provider: str | None,
    request_model: str | None,
    response_model: str | None,
    api_dialect: str | None,
    operation: str | None,
    stop_reason: str | None,
    event_id: str | None,
) -> ModelCall:
    """The parts every ModelCall derives the same way, whichever signal carried it.

    Every field is passed by name, none through `**kwargs`: compiled, that is a direct call of
    ModelCall's constructor, where a `**` splat went through Python's argument parsing (about
    a ninth of mapping a call's instructions)."""
    return ModelCall(
        dedup_key=dedup_key,
        ts=ns_to_datetime(ts_ns),
        source=source,
        signal=signal,
        model=model,
        tokens=tokens,
        identity=identity,
        provider=provider,
        request_model=request_model,
        response_model=response_model,
        api_dialect=api_dialect,
        operation=operation,
        reported=reported or ReportedCost(),
        duration_ms=duration_ms,
        status="error" if error else "ok",
        error=error,
        stop_reason=stop_reason,
        finish_reasons=finish_reasons(finish),
        trace_id=trace_id,
        span_id=span_id,
        event_id=event_id,
        attributes=without_content(raw_attrs),
    )


def span_call(
    span: SpanRecord,
    *,
    source: str,
    dedup_key: str,
    model: str,
    tokens: Tokens,
    identity: Identity,
    provider: str | None,
    request_model: str | None = None,
    response_model: str | None = None,
    operation: str | None = None,
    reported: ReportedCost | None = None,
    error: str | None = None,
    stop_reason: str | None = None,
    finish: object = None,
    event_id: str | None = None,
    api_dialect: str | None = None,
) -> ModelCall:
    """A span's start is the call's time; its status or an explicit error decides the outcome."""
    start_ns = checked_start_ns(span.start_ns, "span start_time_unix_nano")
    if error is None and span.is_error:
        error = text(span.attrs, "error.type") or span.status_message or "error"
    return _call(
        ts_ns=start_ns,
        signal="trace",
        trace_id=span.trace_id,
        span_id=span.span_id,
        raw_attrs=span.attrs,
        duration_ms=(span.end_ns - start_ns) / 1e6 if span.end_ns >= start_ns else None,
        error=error,
        reported=reported,
        finish=finish,
        source=source,
        dedup_key=dedup_key,
        model=model,
        tokens=tokens,
        identity=identity,
        provider=provider,
        request_model=request_model,
        response_model=response_model,
        api_dialect=api_dialect,
        operation=operation,
        stop_reason=stop_reason,
        event_id=event_id,
    )


def log_call(
    record: LogRecord,
    *,
    source: str,
    dedup_key: str,
    model: str,
    tokens: Tokens,
    identity: Identity,
    provider: str | None,
    duration_ms: float | None = None,
    request_model: str | None = None,
    response_model: str | None = None,
    operation: str | None = None,
    reported: ReportedCost | None = None,
    error: str | None = None,
    stop_reason: str | None = None,
    finish: object = None,
    event_id: str | None = None,
    api_dialect: str | None = None,
    ts_ns: int | None = None,
) -> ModelCall:
    """A log record is written when the response is complete; its time stands for the call.

    `ts_ns` is the adapter's own reading of the time when the record's time field is unset.
    """
    return _call(
        ts_ns=checked_start_ns(ts_ns or record.time_ns or record.observed_ns, "log time_unix_nano"),
        signal="log",
        trace_id=record.trace_id or None,
        span_id=record.span_id or None,
        raw_attrs=record.attrs,
        duration_ms=duration_ms,
        error=error,
        reported=reported,
        finish=finish,
        source=source,
        dedup_key=dedup_key,
        model=model,
        tokens=tokens,
        identity=identity,
        provider=provider,
        request_model=request_model,
        response_model=response_model,
        api_dialect=api_dialect,
        operation=operation,
        stop_reason=stop_reason,
        event_id=event_id,
    )


def duration(attrs: Attributes, *keys: str) -> float | None:
    """A reported duration in milliseconds; a malformed one is dropped, it is not worth a rejection."""
    for key in keys:
        raw = attrs.get(key)
        if raw in (None, "") or isinstance(raw, bool):
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return None
        return value if math.isfinite(value) and value >= 0 else None
    return None
