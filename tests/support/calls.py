"""Model calls and rows built directly, for tests that go around the mapping (and its edge checks)."""

from __future__ import annotations

import secrets
import time
import uuid
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bridge.metrics import Metrics
from bridge.model import Identity, ModelCall, ReportedCost, Tokens
from bridge.pricing.pricer import Pricer
from bridge.store.rows import to_row
from bridge.store.writer import BatchWriter, WriteResult

TS = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)
_PRICER = Pricer()


def model_call(
    user: str = "ana@example.com",
    *,
    model: str = "claude-sonnet-4-5",
    input_tokens: int = 100,
    output_tokens: int = 10,
    reported: Decimal | ReportedCost | None = None,
    dedup_key: str | None = None,
    **fields: Any,
) -> ModelCall:
    """A valid trace call (fresh ids unless `dedup_key` is given); `fields` override ModelCall fields.

    `reported` is a total in dollars, or a whole ReportedCost."""
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    call = ModelCall(
        dedup_key=dedup_key or f"span:{trace_id}:{span_id}",
        ts=TS,
        source="semconv",
        signal="trace",
        model=model,
        provider="anthropic",
        tokens=Tokens(input=input_tokens, output=output_tokens),
        identity=Identity(user_id=user, harness_name="tests"),
        reported=reported if isinstance(reported, ReportedCost) else ReportedCost(total=reported),
        trace_id=trace_id,
        span_id=span_id,
    )
    return replace(call, **fields) if fields else call


def row_of(call: ModelCall) -> tuple[Any, ...]:
    """The row the ingest path would queue for `call`, priced at list price."""
    return to_row(call, _PRICER.price(call))


def poison_row(kind: str) -> tuple[Any, ...]:
    """A row the database refuses, built past the edge validation."""
    if kind == "nul":
        return row_of(model_call("mallory\x00@example.com"))
    if kind == "cost":
        row = list(row_of(model_call("mallory@example.com")))
        row[row_index("reported_cost_usd")] = Decimal("1e12")
        return tuple(row)
    if kind == "long_user":  # random: PostgreSQL compresses a repetitive index entry under the limit
        return row_of(model_call(secrets.token_urlsafe(4000)))
    if kind == "long_key":
        return row_of(model_call("mallory@example.com", dedup_key="span:" + secrets.token_urlsafe(4000)))
    if kind == "nul_attribute":
        return row_of(model_call("mallory@example.com", attributes={"x\x00y": "v\x00"}))
    raise ValueError(kind)


def row_index(column: str) -> int:
    from bridge.store.rows import COLUMNS

    return COLUMNS.index(column)


def write_together(
    database_url: str, submissions: list[list[tuple[Any, ...]]], timeout: float = 30
) -> tuple[BatchWriter, list[WriteResult]]:
    """Queue every submission before the writer thread runs, so they merge into one batch; stops it."""
    writer = BatchWriter(database_url, Metrics())
    assert writer._try_connect()
    futures: list[Future[WriteResult]] = [writer.submit("trace", rows, []) for rows in submissions]
    writer._thread.start()
    try:
        return writer, [f.result(timeout=timeout) for f in futures]
    finally:
        deadline = time.monotonic() + timeout
        writer.stop(max(0.1, deadline - time.monotonic()))
