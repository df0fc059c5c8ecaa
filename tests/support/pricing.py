"""A hand-built model call and exact dollar sums, shared by the pricing tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bridge.model import Identity, ModelCall, ReportedCost, Tokens

TS = datetime(2025, 11, 3, 14, 0, tzinfo=UTC)
MTOK = Decimal(1_000_000)
VERSION = "genai-prices 0.2.3+fixes.2"


def make_call(
    model: str,
    provider: str | None,
    *,
    ts: datetime = TS,
    reported: ReportedCost | None = None,
    identity: Identity | None = None,
    request_model: str | None = None,
    **tokens: int,
) -> ModelCall:
    return ModelCall(
        dedup_key=f"test:{model}:{sorted(tokens.items())}",
        ts=ts,
        source="test",
        signal="trace",
        model=model,
        provider=provider,
        request_model=request_model,
        tokens=Tokens(**tokens),
        identity=identity or Identity(),
        reported=reported or ReportedCost(),
    )


def usd(*terms: tuple[int, str]) -> Decimal:
    """Sum of tokens x $/MTok, exactly."""
    return sum((Decimal(tokens) * Decimal(price) for tokens, price in terms), Decimal(0)) / MTOK
