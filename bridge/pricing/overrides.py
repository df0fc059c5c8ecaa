"""The operator's price overrides file: parsed and validated once, at startup.

A typo in a price file would otherwise surface as wrong dollars weeks later, so every
problem is an error that names the file and the key path (`models[2].prices.input`), and
the bridge refuses to start. See examples/price-overrides.yaml and docs/pricing.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from genai_prices.types import Tier, TieredPrices

from bridge.model import ModelCall
from bridge.pricing.catalog import LONG_CONTEXT_THRESHOLD, Price, RateCard

TOP_KEYS = frozenset({"version", "prefer_reported", "models", "multipliers", "subscription"})
MODEL_KEYS = frozenset({"model", "provider", "aliases", "match", "prices", "long_context"})
PRICE_KEYS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")
LONG_CONTEXT_KEYS = frozenset({"threshold", *PRICE_KEYS})
SUBSCRIPTION_KEYS = ("harness", "user", "team", "provider")


class PriceOverridesError(ValueError):
    """An unusable overrides file; `message` names the file and the key path.

    The CLI (`serve`, `reprice`) turns it into a one-line error and exit code 1.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class CustomModel:
    """Prices the operator sets for a model: self-hosted, fine-tuned, or a private deal."""

    name: str
    provider: str | None
    names: frozenset[str]
    pattern: re.Pattern[str] | None
    card: RateCard

    def matches(self, provider: str | None, model: str) -> bool:
        if self.provider is not None and self.provider != (provider or "").lower():
            return False
        key = model.strip().lower()
        return key in self.names or (self.pattern is not None and self.pattern.search(key) is not None)


@dataclass(frozen=True, slots=True)
class SubscriptionRule:
    """Calls matching every given field are covered by a flat-rate plan."""

    harness: str | None = None
    user: str | None = None
    team: str | None = None
    provider: str | None = None

    def matches(self, call: ModelCall) -> bool:
        ident = call.identity
        actual = (ident.harness_name, ident.user_id, ident.team, call.provider)
        wanted = (self.harness, self.user, self.team, self.provider)
        return all(
            w is None or (a is not None and a.casefold() == w) for w, a in zip(wanted, actual, strict=True)
        )


@dataclass(frozen=True, slots=True)
class PriceOverrides:
    """The operator's validated price overrides: custom models, multipliers, subscription rules."""

    prefer_reported: bool = False
    models: tuple[CustomModel, ...] = ()
    provider_multipliers: Mapping[str, Decimal] = field(default_factory=dict)
    model_multipliers: Mapping[str, Decimal] = field(default_factory=dict)
    subscription: tuple[SubscriptionRule, ...] = ()
    digest: str | None = None  # sha256 of the file, recorded in price_version

    def custom_model(self, provider: str | None, model: str) -> CustomModel | None:
        return next((m for m in self.models if m.matches(provider, model)), None)

    def multiplier(self, provider: str | None, model: str, model_id: str) -> Decimal | None:
        """The most specific negotiated factor: a model's own, else its provider's; never both."""
        models = self.model_multipliers
        for key in (model.strip().lower(), model_id.lower()):
            if key in models:
                return models[key]
        return self.provider_multipliers.get((provider or "").lower())

    def forces_subscription(self, call: ModelCall) -> bool:
        return any(rule.matches(call) for rule in self.subscription)


NO_OVERRIDES = PriceOverrides()


def load_overrides(path: Path) -> PriceOverrides:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PriceOverridesError(f"price overrides {path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PriceOverridesError(f"price overrides {path}: not valid YAML: {exc}") from None
    return parse_overrides(data, str(path), digest=hashlib.sha256(raw).hexdigest())


def parse_overrides(
    data: Any, source: str = "price overrides", *, digest: str | None = None
) -> PriceOverrides:
    parser = _Parser(source)
    return parser.overrides(data, digest)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> PriceOverridesError:
        where = f"{path}: " if path else ""
        return PriceOverridesError(f"price overrides {self.source}: {where}{problem}")

    def mapping(self, value: Any, path: str, allowed: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                raise self.fail(where, f"unknown key (expected one of: {', '.join(sorted(allowed))})")
        return value

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected a non-empty string, got {_kind(value)}")
        return value.strip()

    def number(self, value: Any, path: str, *, positive: bool = False) -> Decimal:
        """Exact decimals: the YAML text `0.3` becomes Decimal('0.3'), never a binary float."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(path, f"expected a number, got {_kind(value)}")
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except InvalidOperation:
            raise self.fail(path, f"expected a number, got {value!r}") from None
        if not number.is_finite() or number < 0 or (positive and number == 0):
            raise self.fail(
                path, f"expected a {'positive' if positive else 'non-negative'} number, got {value}"
            )
        return number

    def overrides(self, data: Any, digest: str | None) -> PriceOverrides:
        if data is None:
            return PriceOverrides(digest=digest)
        top = self.mapping(data, "", TOP_KEYS)
        if "version" in top and top["version"] != 1:
            raise self.fail("version", f"unsupported version {top['version']!r} (expected 1)")
        prefer = top.get("prefer_reported", False)
        if not isinstance(prefer, bool):
            raise self.fail("prefer_reported", f"expected true or false, got {_kind(prefer)}")
        providers, models = self.multipliers(top.get("multipliers"))
        return PriceOverrides(
            prefer_reported=prefer,
            models=self.models(top.get("models")),
            provider_multipliers=providers,
            model_multipliers=models,
            subscription=self.subscriptions(top.get("subscription")),
            digest=digest,
        )

    def models(self, value: Any) -> tuple[CustomModel, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail("models", f"expected a list, got {_kind(value)}")
        seen: dict[str, str] = {}
        out = []
        for index, item in enumerate(value):
            path = f"models[{index}]"
            model = self.model(item, path)
            for name in sorted(model.names):
                key = f"{model.provider or '*'}/{name}"
                if key in seen:
                    raise self.fail(path, f"model name {name!r} is already defined by {seen[key]}")
                seen[key] = path
            out.append(model)
        return tuple(out)

    def model(self, value: Any, path: str) -> CustomModel:
        entry = self.mapping(value, path, MODEL_KEYS)
        if "model" not in entry:
            raise self.fail(f"{path}.model", "required")
        if "prices" not in entry:
            raise self.fail(f"{path}.prices", "required")
        name = self.text(entry["model"], f"{path}.model")
        provider = self.text(entry["provider"], f"{path}.provider").lower() if "provider" in entry else None
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list):
            raise self.fail(f"{path}.aliases", f"expected a list of names, got {_kind(aliases)}")
        names = {name.lower()} | {self.text(a, f"{path}.aliases[{i}]").lower() for i, a in enumerate(aliases)}
        pattern = None
        if "match" in entry:
            regex = self.text(entry["match"], f"{path}.match")
            try:
                pattern = re.compile(regex, re.IGNORECASE)
            except re.error as exc:
                raise self.fail(f"{path}.match", f"invalid regular expression: {exc}") from None
        base = self.prices(entry["prices"], f"{path}.prices", frozenset(PRICE_KEYS))
        card = _card(
            name, provider, base, self.long_context(entry.get("long_context"), f"{path}.long_context", base)
        )
        return CustomModel(name=name, provider=provider, names=frozenset(names), pattern=pattern, card=card)

    def prices(self, value: Any, path: str, allowed: frozenset[str]) -> dict[str, Decimal]:
        entry = self.mapping(value, path, allowed)
        for required in ("input", "output"):
            if required not in entry:
                raise self.fail(f"{path}.{required}", "required (USD per million tokens)")
        return {k: self.number(v, f"{path}.{k}") for k, v in entry.items() if k in PRICE_KEYS}

    def long_context(
        self, value: Any, path: str, base: dict[str, Decimal]
    ) -> tuple[int, dict[str, Decimal]] | None:
        """The premium tier must restate every price the base gives: a default here would
        quietly price, say, long-context cache reads at the long-context input rate."""
        if value is None:
            return None
        entry = self.mapping(value, path, LONG_CONTEXT_KEYS)
        threshold = entry.get("threshold", LONG_CONTEXT_THRESHOLD)
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold <= 0:
            raise self.fail(
                f"{path}.threshold", f"expected a positive whole number of tokens, got {threshold!r}"
            )
        prices = self.prices(entry, path, LONG_CONTEXT_KEYS)
        for key in base:
            if key not in prices:
                raise self.fail(f"{path}.{key}", f"required, because prices.{key} is set")
        return threshold, prices

    def multipliers(self, value: Any) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        if value is None:
            return {}, {}
        entry = self.mapping(value, "multipliers", frozenset({"providers", "models"}))
        out: list[dict[str, Decimal]] = []
        for kind in ("providers", "models"):
            factors = entry.get(kind) or {}
            if not isinstance(factors, dict):
                raise self.fail(
                    f"multipliers.{kind}", f"expected a mapping of name: factor, got {_kind(factors)}"
                )
            out.append(
                {
                    self.text(k, f"multipliers.{kind}").lower(): self.number(
                        v, f"multipliers.{kind}.{k}", positive=True
                    )
                    for k, v in factors.items()
                }
            )
        return out[0], out[1]

    def subscriptions(self, value: Any) -> tuple[SubscriptionRule, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail("subscription", f"expected a list of rules, got {_kind(value)}")
        rules = []
        for index, item in enumerate(value):
            path = f"subscription[{index}]"
            entry = self.mapping(item, path, frozenset(SUBSCRIPTION_KEYS))
            if not entry:
                raise self.fail(path, f"a rule needs at least one of: {', '.join(SUBSCRIPTION_KEYS)}")
            fields = {k: self.text(v, f"{path}.{k}").casefold() for k, v in entry.items()}
            rules.append(SubscriptionRule(**fields))
        return tuple(rules)


def _card(
    name: str,
    provider: str | None,
    base: dict[str, Decimal],
    long_context: tuple[int, dict[str, Decimal]] | None,
) -> RateCard:
    """Unset cache prices default like genai-prices does: reads and writes at the input
    rate, 1-hour writes at the cache-write rate."""

    def filled(prices: dict[str, Decimal]) -> dict[str, Decimal]:
        out = dict(prices)
        out.setdefault("cache_read", out["input"])
        out.setdefault("cache_write", out["input"])
        out.setdefault("cache_write_1h", out["cache_write"])
        return out

    low = filled(base)
    high = filled(long_context[1]) if long_context else None

    def price(key: str) -> Price:
        if high is None or long_context is None:
            return low[key]
        return TieredPrices(base=low[key], tiers=[Tier(long_context[0], high[key])])

    return RateCard(
        model_id=name,
        provider_id=provider or "*",
        origin="override",
        input=price("input"),
        output=price("output"),
        cache_read=price("cache_read"),
        cache_write=price("cache_write"),
        cache_write_1h=price("cache_write_1h"),
    )


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"
