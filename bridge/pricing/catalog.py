"""List prices from the bundled genai-prices snapshot, as per-bucket rate cards.

genai-prices returns one input and one output figure per call; the dashboards need the
cost of each of our disjoint buckets, so we read its price table and price each bucket
with its own tier function (`calc_unit_price`). The library's semantics we rely on, as of
0.2.3 (checked against `genai_prices.calc_price` in tests/test_pricing_catalog.py):

- `input_tokens` *includes* cache reads and writes: cached tokens are "descendants" of
  input and are priced at their own rate only when the model has one, else at the input
  rate. The same holds for 1-hour cache writes inside cache writes.
- Tiers (`TieredPrices`) are cliffs decided by the request's whole input, cache included,
  and apply to every bucket of that request, output too, once input is *strictly above*
  the tier start.
- Price history is a list of `ConditionalPrice`s; the last one whose constraint is active
  at the request timestamp wins (start dates compare UTC dates; DeepSeek's off-peak
  windows compare UTC times of day).

We never use genai-prices' auto-update: a row's `price_version` must name the exact table
that priced it, so only the snapshot bundled with the installed package is consulted.
"""

from __future__ import annotations

import re
from copy import copy
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

import genai_prices
from genai_prices.data import providers as BUNDLED_PROVIDERS
from genai_prices.data_snapshot import find_provider_by_id
from genai_prices.types import (
    ModelInfo,
    ModelPrice,
    Provider,
    Tier,
    TieredPrices,
)

from bridge import config
from bridge.model import Tokens

Price = Decimal | TieredPrices
Origin = Literal["list_price", "override"]

PER_MTOK = 1_000_000
PER_KREQUESTS = 1_000
MICRO_CENT = Decimal("1e-10")  # the scale of the NUMERIC(20, 10) cost columns
ZERO = Decimal(0)

# Bump when FIXES below change, so rows priced before and after can be told apart.
FIXES_REVISION = 2  # 2: Claude fast mode priced from its own price variant
CATALOG_VERSION = f"genai-prices {genai_prices.__version__}+fixes.{FIXES_REVISION}"

# OpenTelemetry `gen_ai.provider.name` → genai-prices provider id. Names not listed are
# tried as genai-prices ids; self-hosted runtimes (ollama, vllm, ...) match nothing and stay
# unpriced unless the operator prices them, rather than borrowing some cloud's price.
PROVIDER_IDS: dict[str, str] = {
    "anthropic": "anthropic",
    "openai": "openai",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "aws.bedrock": "aws",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "perplexity": "perplexity",
    "openrouter": "openrouter",
    "together_ai": "together",
    "fireworks": "fireworks",
    "moonshot": "moonshotai",
}
# Emitters that know no provider: genai-prices guesses one from the model name.
UNKNOWN_PROVIDERS = frozenset({"", "unknown"})


@dataclass(frozen=True, slots=True)
class RateCard:
    """USD per million tokens for each of our buckets, resolved for one point in time."""

    model_id: str
    provider_id: str
    origin: Origin
    input: Price
    output: Price | None
    cache_read: Price
    cache_write: Price
    cache_write_1h: Price
    per_request: Price | None = None  # per 1000 requests; folded into the input bucket


@dataclass(frozen=True, slots=True)
class BucketCosts:
    """Costs per bucket, each already at column scale, so their sum is the stored total."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal

    @property
    def total(self) -> Decimal:
        return self.input + self.output + self.cache_read + self.cache_write

    def scaled(self, factor: Decimal) -> BucketCosts:
        return BucketCosts(
            input=quantize(self.input * factor),
            output=quantize(self.output * factor),
            cache_read=quantize(self.cache_read * factor),
            cache_write=quantize(self.cache_write * factor),
        )


def quantize(amount: Decimal) -> Decimal:
    """Round once, per bucket, to what PostgreSQL stores: the total is then their exact sum."""
    return amount.quantize(MICRO_CENT)


def _rate(price: Price | None, prompt: int) -> Decimal | None:
    """The price per unit that applies to a request with `prompt` input tokens: a flat price
    as it is, a tiered one by `calc_unit_price`'s rule (the last tier whose start the prompt
    is strictly above, else the base)."""
    if type(price) is Decimal or price is None:
        return price
    assert isinstance(price, TieredPrices)
    for tier in reversed(price.tiers):
        if prompt > tier.start:
            return tier.price
    return price.base


def bucket_costs(card: RateCard, tokens: Tokens) -> BucketCosts | None:
    """Price every bucket of one request; None if the card cannot price what was used.

    The arithmetic of `genai_prices.calc_unit_price(price, count, prompt, per)`, inlined:
    `rate * count / per` with the tier's rate (`Decimal(0)` without a price), so each bucket
    is the same Decimal the library computes (tests/test_pricing_catalog.py compares them);
    a count of 0 costs `ZERO` without the multiplication, which quantizes the same."""
    output_count = tokens.output
    if card.output is None and output_count > 0:
        return None
    cache_write = tokens.cache_write
    prompt = tokens.input + tokens.cache_read + cache_write  # decides every bucket's tier, output's too
    one_hour = min(tokens.cache_write_1h, cache_write)
    input_cost = _cost(_rate(card.input, prompt), tokens.input, PER_MTOK)
    if card.per_request is not None:
        input_cost += _cost(_rate(card.per_request, prompt), 1, PER_KREQUESTS)
    return BucketCosts(
        input=input_cost.quantize(MICRO_CENT),
        output=_cost(_rate(card.output, prompt), output_count, PER_MTOK).quantize(MICRO_CENT),
        cache_read=_cost(_rate(card.cache_read, prompt), tokens.cache_read, PER_MTOK).quantize(MICRO_CENT),
        cache_write=(
            _cost(_rate(card.cache_write, prompt), cache_write - one_hour, PER_MTOK)
            + _cost(_rate(card.cache_write_1h, prompt), one_hour, PER_MTOK)
        ).quantize(MICRO_CENT),
    )


def _cost(rate: Decimal | None, count: int, per: int) -> Decimal:
    if rate is None or not count:
        return ZERO
    return rate * count / per


# -- finding the model -------------------------------------------------------------------


def genai_provider(provider: str | None) -> tuple[bool, Provider | None]:
    """(known, provider) for an OTel provider name. Unknown or absent names mean "infer it
    from the model" (known, None); names genai-prices does not carry give (False, None): a
    self-hosted model must not borrow a cloud's price."""
    key = (provider or "").strip().lower()
    if key in UNKNOWN_PROVIDERS:
        return True, None
    found = find_provider_by_id(BUNDLED_PROVIDERS, PROVIDER_IDS.get(key, key))
    return found is not None, found


def model_refs(model: str, provider_id: str | None) -> list[str]:
    """Spellings to try: as sent, then without a vendor/path prefix (`anthropic/claude-…`,
    Gemini's `models/…`, Bedrock ARNs). OpenRouter ids keep their vendor prefix."""
    ref = model.strip().lower()
    refs = [ref]
    if ref.startswith("models/"):
        refs.append(ref.removeprefix("models/"))
    if "/" in ref and provider_id != "openrouter":
        refs.append(ref.rsplit("/", 1)[1])
    return [r for r in dict.fromkeys(refs) if r]


def _provider_for_model(ref: str) -> Provider | None:
    """genai-prices' own inference: the first provider whose model pattern matches."""
    return next((p for p in BUNDLED_PROVIDERS if p.model_match and p.model_match.is_match(ref)), None)


def find_model(provider: str | None, model: str) -> tuple[Provider, ModelInfo] | None:
    """Resolve like `calc_price` does, including its fallbacks (Vertex → Anthropic, Azure → OpenAI)."""
    known, found = genai_provider(provider)
    if not known:
        return None
    for ref in model_refs(model, found.id if found else None):
        candidate = found or _provider_for_model(ref)
        if candidate is not None and (info := candidate.find_model(ref, all_providers=BUNDLED_PROVIDERS)):
            return candidate, info
    return None


# -- price history -----------------------------------------------------------------------


def active_price_index(info: ModelInfo, ts: datetime) -> int:
    """Which of the model's prices applies at `ts`: the same rule as `ModelInfo.get_prices`
    (last active constraint wins, else the first), as an index we can cache cards by."""
    if isinstance(info.prices, ModelPrice):
        return 0
    for index in range(len(info.prices) - 1, -1, -1):
        constraint = info.prices[index].constraint
        if constraint is None or constraint.active(ts):
            return index
    return 0


FAST = "fast"


def fast_prices(info: ModelInfo, ts: datetime) -> ModelPrice | None:
    """The model's `speed: fast` variant active at `ts` (Anthropic fast mode), if the table has one."""
    for variant in info.price_variants or ():
        if variant.when != {"speed": FAST}:
            continue
        if variant.constraint is None or variant.constraint.active(ts):
            return variant.prices
    return None


def list_card(
    provider: Provider,
    info: ModelInfo,
    index: int,
    *,
    fixes: bool = True,
    variant: ModelPrice | None = None,
) -> RateCard | None:
    """The model's prices at one point of its history; `fixes=False` gives genai-prices' table
    as is, which tests compare with `calc_price`. `variant` (e.g. `fast_prices`) replaces the
    standard prices it sets, as genai-prices' own `price_context` does."""
    prices = info.prices if isinstance(info.prices, ModelPrice) else info.prices[index].prices
    if variant is not None:
        prices = copy(prices)
        prices.__dict__.update({k: v for k, v in variant.__dict__.items() if v is not None})
    input_price = prices.input_mtok
    if input_price is None:  # priced per character, second or image: not a token model
        return None
    cache_read = prices.cache_read_mtok if prices.cache_read_mtok is not None else input_price
    cache_write = prices.cache_write_mtok if prices.cache_write_mtok is not None else input_price
    one_hour = prices.cache_write_1h_mtok
    card = RateCard(
        model_id=info.id,
        provider_id=provider.id,
        origin="list_price",
        input=input_price,
        output=prices.output_mtok,
        cache_read=cache_read,
        cache_write=cache_write,
        cache_write_1h=one_hour if one_hour is not None else cache_write,
        per_request=prices.requests_kcount,
    )
    if not fixes:
        return card
    return apply_fixes(card, lacks_1h_price=one_hour is None and prices.cache_write_mtok is not None)


# -- corrections to the bundled table ----------------------------------------------------
# Each one is a published price genai-prices 0.2.3 does not carry. Keep them few, sourced,
# and covered by a test that states the published number.

LONG_CONTEXT_THRESHOLD = config.LONG_CONTEXT_THRESHOLD  # the SQL copies are listed in bridge/config.py
# Claude Sonnet 4 and 4.5 (1M-context beta, until its retirement on 2026-04-30): above 200k
# prompt tokens the whole request costs 2x input-side and 1.5x output, on every platform
# (Anthropic: $6 / $22.50 / $0.60 read / $7.50 5m write / $12 1h write; Bedrock's regional
# endpoints keep their 10% premium: $6.60 / $24.75). genai-prices 0.2.3 has these tiers only
# for Sonnet 4.5 on Anthropic and Vertex, not for Sonnet 4 anywhere nor for Bedrock.
LONG_CONTEXT_PROVIDERS = frozenset({"anthropic", "google", "aws"})
LONG_CONTEXT_MODELS = re.compile(r"claude-(?:sonnet-4(?:-0|-5)?(?:-\d{8})?(?:-v\d+:\d+)?|4-sonnet)$")
INPUT_SIDE_FACTOR = Decimal(2)
OUTPUT_FACTOR = Decimal("1.5")
# Anthropic prices 1-hour cache writes at 2x base input for every Claude model; genai-prices
# lacks that rate for older Claude models on Vertex and Bedrock and would charge the 5-minute
# rate (1.25x) instead.
ONE_HOUR_WRITE_FACTOR = Decimal(2)


def _times(price: Price, factor: Decimal) -> Price:
    if isinstance(price, TieredPrices):
        return TieredPrices(
            base=price.base * factor, tiers=[Tier(t.start, t.price * factor) for t in price.tiers]
        )
    return price * factor


def _with_long_context(price: Price, factor: Decimal) -> Price:
    if isinstance(price, TieredPrices):
        return price
    return TieredPrices(base=price, tiers=[Tier(LONG_CONTEXT_THRESHOLD, price * factor)])


def apply_fixes(card: RateCard, *, lacks_1h_price: bool) -> RateCard:
    if "claude" not in card.model_id:
        return card
    if lacks_1h_price:
        card = replace(card, cache_write_1h=_times(card.input, ONE_HOUR_WRITE_FACTOR))
    long_context = card.provider_id in LONG_CONTEXT_PROVIDERS and LONG_CONTEXT_MODELS.search(card.model_id)
    if long_context and not isinstance(card.input, TieredPrices):
        card = replace(
            card,
            input=_with_long_context(card.input, INPUT_SIDE_FACTOR),
            output=None if card.output is None else _with_long_context(card.output, OUTPUT_FACTOR),
            cache_read=_with_long_context(card.cache_read, INPUT_SIDE_FACTOR),
            cache_write=_with_long_context(card.cache_write, INPUT_SIDE_FACTOR),
            cache_write_1h=_with_long_context(card.cache_write_1h, INPUT_SIDE_FACTOR),
        )
    return card
