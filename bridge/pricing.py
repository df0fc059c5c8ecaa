"""Price a normalised model call.

Issue-2 scope: the cost the emitter reported (agent.cost.*). List-price computation plugs
in here, so the rest of the pipeline only ever sees `Costs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from bridge.mapping.call import CostEstimation, ModelCall

CostSource = Literal["reported", "list_price", "override", "none"]
ZERO = Decimal(0)


@dataclass(slots=True)
class Costs:
    input: Decimal | None = None
    output: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    total: Decimal | None = None
    estimation: CostEstimation = "unreported"
    reported_total: Decimal | None = None
    list_total: Decimal | None = None
    source: CostSource = "none"
    price_version: str | None = None


def estimation_of(call: ModelCall) -> CostEstimation:
    """Subscription when the emitter says so, or reports $0 for a call that used tokens."""
    reported = call.reported
    if reported.estimation:
        return reported.estimation
    if reported.total is None:
        return "unreported"
    if reported.total == ZERO and call.tokens.total > 0:
        return "subscription"
    return "metered"


class Pricer:
    def __init__(self, overrides_path: Path | None = None) -> None:
        self.overrides_path = overrides_path

    def price(self, call: ModelCall) -> Costs:
        reported = call.reported
        estimation = estimation_of(call)
        if reported.total is None:
            parts = [reported.input, reported.output, reported.cache_read, reported.cache_write]
            total = (
                sum((p for p in parts if p is not None), ZERO) if any(p is not None for p in parts) else None
            )
        else:
            total = reported.total
        return Costs(
            input=reported.input,
            output=reported.output,
            cache_read=reported.cache_read,
            cache_write=reported.cache_write,
            total=total,
            estimation=estimation if total is not None or estimation == "subscription" else "unreported",
            reported_total=total,
            source="reported" if total is not None else "none",
        )
