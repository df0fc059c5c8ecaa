"""Price a normalised model call: the one place that decides which dollar figure a row shows.

Every row keeps three figures: what the emitter reported (`reported_cost_usd`), what list
prices say (`list_cost_usd`), and the one the dashboards sum (`total_cost_usd`, with its
origin in `cost_source`). The selection rule, in order:

1. Subscription (the emitter says so, reports $0 for a call that used tokens, or the
   overrides file covers the harness/user/team): total 0, list price kept as the
   equivalent, so teams see what the plan saves.
2. `prefer_reported: true` and the emitter reported a cost: that cost.
3. A computed price: `override` when the operator's file priced the model or applied a
   negotiated multiplier, else `list_price`.
4. The reported cost.
5. Nothing known: total NULL, `cost_source='none'`; never $0, so unpriced calls stay visible.

`price()` runs on the ingest hot path, so model resolution and rate cards are cached and
the per-call work is a handful of Decimal multiplications.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from genai_prices.types import ModelInfo, Provider

from bridge.model import CostEstimation, ModelCall, ReportedCost
from bridge.pricing.catalog import (
    CATALOG_VERSION,
    FAST,
    BucketCosts,
    Origin,
    RateCard,
    active_price_index,
    bucket_costs,
    fast_prices,
    find_model,
    list_card,
    quantize,
)
from bridge.pricing.overrides import NO_OVERRIDES, PriceOverrides, load_overrides

log = logging.getLogger(__name__)

CostSource = Literal["reported", "list_price", "override", "none"]
ZERO = Decimal(0)
ONE = Decimal(1)
# Where the 1-hour share of cache writes is kept on the row, so `reprice` can rebuild it:
# the table has one cache-write column, and the TTL split changes the price.
CACHE_WRITE_1H_ATTR = "agent_spend.cache_write_1h_tokens"
# A call made in fast mode (`speed: fast`, Claude Code's `speed` attribute): priced with the
# table's fast-mode prices when it has them. Which rate priced it is kept on the row:
# `fast` (the fast prices), `standard` (the table has no fast price for the model: priced at
# the standard rate, so the list figure is low), `override` (the operator's own model price).
SPEED_ATTR = "speed"
SPEED_PRICED_ATTR = "agent_spend.speed_priced"
Resolved = tuple[Provider, ModelInfo]
MODEL_CACHE_SIZE = 8192  # distinct (provider, model) spellings; bounded against junk names
_NO_PARTS = (None, None, None, None)


@dataclass(slots=True, init=False)  # a written __init__: see the note above model.Tokens
class Costs:
    """The priced cost of one call, per token bucket, with where the price came from."""

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

    def __init__(
        self,
        input: Decimal | None = None,
        output: Decimal | None = None,
        cache_read: Decimal | None = None,
        cache_write: Decimal | None = None,
        total: Decimal | None = None,
        estimation: CostEstimation = "unreported",
        reported_total: Decimal | None = None,
        list_total: Decimal | None = None,
        source: CostSource = "none",
        price_version: str | None = None,
    ) -> None:
        self.input = input
        self.output = output
        self.cache_read = cache_read
        self.cache_write = cache_write
        self.total = total
        self.estimation = estimation
        self.reported_total = reported_total
        self.list_total = list_total
        self.source = source
        self.price_version = price_version


@dataclass(frozen=True, slots=True)
class Computed:
    """A price we computed: `list` at list (or the operator's own) prices, `charged` after
    any negotiated multiplier; the two are the same object when no multiplier applies."""

    list: BucketCosts
    charged: BucketCosts
    origin: Origin
    model_id: str


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


def reported_buckets(reported: ReportedCost) -> tuple[Decimal | None, BucketCosts | None]:
    """The emitter's total (its parts summed when it sent no total), and its parts when they
    add up to that total; parts that don't would make the per-bucket panels lie."""
    parts = (reported.input, reported.output, reported.cache_read, reported.cache_write)
    total = reported.total
    if parts == _NO_PARTS:  # most emitters report a total or nothing, never a split
        return total, None
    given = [p for p in parts if p is not None]
    if total is None and given:
        total = sum(given, ZERO)
    if total is None or not given or sum(given, ZERO) != total:
        return total, None
    return total, BucketCosts(*(p if p is not None else ZERO for p in parts))


class Pricer:
    """Prices model calls from the bundled table, corrections and the operator's overrides."""

    def __init__(
        self, overrides_path: Path | None = None, *, overrides: PriceOverrides | None = None
    ) -> None:
        self.overrides_path = overrides_path
        if overrides is None:
            overrides = load_overrides(overrides_path) if overrides_path is not None else NO_OVERRIDES
        self.overrides = overrides
        self.price_version = CATALOG_VERSION
        if overrides.digest:
            self.price_version += f"+overrides:{overrides.digest[:12]}"
        self._cards: dict[tuple[str, str, int, str], RateCard | None] = {}
        self._resolve = functools.lru_cache(maxsize=MODEL_CACHE_SIZE)(self._resolve_uncached)
        self._resolve("anthropic", "claude-sonnet-4-5")  # load the price table now, not on a request

    # -- the rule ------------------------------------------------------------------------
    def price(self, call: ModelCall) -> Costs:
        """Pure but for one thing: the 1-hour cache-write count is copied into the call's
        attributes, the only place a stored row can keep it for `reprice`."""
        if call.tokens.cache_write_1h:
            call.attributes[CACHE_WRITE_1H_ATTR] = call.tokens.cache_write_1h
        computed = self.compute(call)
        reported_total, reported_parts = reported_buckets(call.reported)
        costs = Costs(
            reported_total=reported_total,
            list_total=computed.list.total if computed else None,
            price_version=self.price_version,
        )
        # The emitter's own claim is recorded first: reprice can only recover it from the row.
        emitter_says = estimation_of(call) == "subscription"
        if emitter_says or (self.overrides.subscription and self.overrides.forces_subscription(call)):
            _set(costs, BucketCosts(ZERO, ZERO, ZERO, ZERO), "reported" if emitter_says else "override")
            costs.estimation = "subscription"
        elif self.overrides.prefer_reported and reported_total is not None:
            _set(costs, reported_parts, "reported", reported_total)
        elif computed is not None:
            _set(costs, computed.charged, computed.origin)
        elif reported_total is not None:
            _set(costs, reported_parts, "reported", reported_total)
        return costs

    def compute(self, call: ModelCall) -> Computed | None:
        """The call at list (or operator) prices as of its timestamp; None for unknown models."""
        card = self.card(call)
        if card is None:
            return None
        listed = bucket_costs(card, call.tokens)
        if listed is None:
            return None
        if card.origin == "override":
            return Computed(listed, listed, "override", card.model_id)
        factor = self.overrides.multiplier(call.provider, call.model, card.model_id)
        if factor is None or factor == ONE:
            return Computed(listed, listed, "list_price", card.model_id)
        return Computed(listed, listed.scaled(factor), "override", card.model_id)

    # -- lookups ---------------------------------------------------------------------------
    def card(self, call: ModelCall) -> RateCard | None:
        speed = call.attributes.get(SPEED_ATTR)
        fast = speed is not None and str(speed).strip().lower() == FAST
        for model in (call.model, call.request_model):
            if not model:
                continue
            resolved = self._resolve(call.provider, model)
            if isinstance(resolved, RateCard):
                if fast:
                    call.attributes[SPEED_PRICED_ATTR] = "override"
                return resolved
            if resolved is not None:
                provider, info = resolved
                index = active_price_index(info, call.ts)
                variant = fast_prices(info, call.ts) if fast else None
                if fast:
                    call.attributes[SPEED_PRICED_ATTR] = FAST if variant is not None else "standard"
                key = (provider.id, info.id, index, FAST if variant is not None else "")
                if key not in self._cards:  # racing threads compute the same value: harmless
                    self._cards[key] = list_card(provider, info, index, variant=variant)
                return self._cards[key]
        return None

    def _resolve_uncached(
        self, provider: str | None, model: str
    ) -> RateCard | tuple[Provider, ModelInfo] | None:
        """Operator prices first (they may also re-price a model genai-prices knows)."""
        if custom := self.overrides.custom_model(provider, model):
            return custom.card
        return find_model(provider, model)


def _set(costs: Costs, buckets: BucketCosts | None, source: CostSource, total: Decimal | None = None) -> None:
    if buckets is not None:
        costs.input, costs.output = buckets.input, buckets.output
        costs.cache_read, costs.cache_write = buckets.cache_read, buckets.cache_write
        total = buckets.total
    costs.total = quantize(total) if total is not None else None
    costs.source = source
    costs.estimation = "metered"
