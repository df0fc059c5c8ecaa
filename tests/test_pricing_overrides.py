"""Operator overrides: custom prices, negotiated multipliers, forced subscriptions,
prefer_reported, and a file that is refused at startup with the key path at fault."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.model import Identity, ReportedCost
from bridge.pricing.overrides import PriceOverridesError, load_overrides, parse_overrides
from bridge.pricing.pricer import Pricer
from tests.support.paths import ROOT
from tests.support.pricing import VERSION, make_call, usd

OVERRIDES = """
version: 1
models:
  - model: acme-coder-70b
    provider: ollama
    aliases: [acme-coder]
    match: '^acme-coder-70b-q[48]$'
    prices: {input: 0.40, output: 1.20, cache_read: 0.04}
    long_context: {threshold: 100000, input: 0.80, output: 2.40, cache_read: 0.08}
  - model: gpt-4.1                  # a private deal on a model genai-prices knows
    prices: {input: 1.50, output: 6}
multipliers:
  providers: {anthropic: 0.9}
  models: {claude-opus-4-1: 0.8}
subscription:
  - harness: claude-code
    team: mobile
  - user: CI-Bot@example.com
"""


@pytest.fixture
def overrides_file(tmp_path: Path) -> Path:
    path = tmp_path / "overrides.yaml"
    path.write_text(OVERRIDES)
    return path


@pytest.fixture
def pricer(overrides_file: Path) -> Pricer:
    return Pricer(overrides_file)


def test_price_version_names_the_overrides_file(pricer: Pricer, overrides_file: Path) -> None:
    digest = hashlib.sha256(overrides_file.read_bytes()).hexdigest()[:12]
    assert pricer.price_version == f"{VERSION}+overrides:{digest}"
    assert pricer.price(make_call("gpt-5", "openai", input=1)).price_version == pricer.price_version


@pytest.mark.parametrize("model", ["acme-coder-70b", "ACME-Coder", "acme-coder-70b-q4"])
def test_custom_model_by_name_alias_or_pattern(pricer: Pricer, model: str) -> None:
    costs = pricer.price(
        make_call(model, "ollama", input=10_000, cache_read=20_000, cache_write=1_000, output=2_000)
    )
    # cache_write is unset, so it is priced at the input rate.
    assert costs.total == usd((10_000, "0.40"), (20_000, "0.04"), (1_000, "0.40"), (2_000, "1.20"))
    assert (costs.source, costs.list_total, costs.estimation) == ("override", costs.total, "metered")


def test_custom_model_long_context_applies_to_the_whole_request(pricer: Pricer) -> None:
    costs = pricer.price(make_call("acme-coder", "ollama", input=60_000, cache_read=40_001, output=1_000))
    assert costs.total == usd((60_000, "0.80"), (40_001, "0.08"), (1_000, "2.40"))


def test_custom_model_restricted_to_its_provider(pricer: Pricer) -> None:
    assert pricer.price(make_call("acme-coder-70b", "vllm", input=1)).source == "none"
    assert pricer.price(make_call("acme-coder-70b-q5", "ollama", input=1)).source == "none"


def test_custom_price_replaces_a_known_list_price(pricer: Pricer) -> None:
    costs = pricer.price(make_call("gpt-4.1", "openai", input=1_000, output=100))
    assert (costs.total, costs.source) == (usd((1_000, "1.50"), (100, "6")), "override")


def test_provider_multiplier_keeps_the_list_price(pricer: Pricer) -> None:
    # Claude Sonnet 4.5 list: $3 in / $15 out; negotiated 10% off Anthropic.
    costs = pricer.price(make_call("claude-sonnet-4-5", "anthropic", input=1_234, output=789))
    listed = usd((1_234, "3"), (789, "15"))
    assert costs.list_total == listed == Decimal("0.015537")
    assert costs.input == usd((1_234, "3")) * Decimal("0.9")
    assert costs.total == listed * Decimal("0.9") == Decimal("0.0139833")
    assert costs.source == "override"


def test_model_multiplier_replaces_the_provider_one(pricer: Pricer) -> None:
    # Claude Opus 4.1 list: $15 / $75; the model's own 0.8 applies, not 0.8 x 0.9.
    costs = pricer.price(make_call("claude-opus-4-1-20250805", "anthropic", input=1_000, output=1_000))
    assert costs.total == usd((1_000, "15"), (1_000, "75")) * Decimal("0.8") == Decimal("0.072")


def test_multiplied_buckets_are_rounded_once_and_add_up_exactly() -> None:
    pricer = Pricer(overrides=parse_overrides({"multipliers": {"providers": {"openai": "0.333333"}}}))
    costs = pricer.price(make_call("gpt-5", "openai", input=7, cache_read=13, output=3))
    buckets = (costs.input, costs.output, costs.cache_read, costs.cache_write)
    assert all(b is not None and b.as_tuple().exponent >= -10 for b in buckets)  # type: ignore[operator]
    assert costs.total == sum(buckets)  # type: ignore[arg-type]
    assert costs.input == Decimal("0.0000029167")  # 7 x $1.25 / 1M x 0.333333 = 0.00000291666375


@pytest.mark.parametrize(
    ("identity", "provider", "forced"),
    [
        (Identity(harness_name="claude-code", team="mobile"), "anthropic", True),
        (Identity(harness_name="claude-code", team="payments"), "anthropic", False),
        (Identity(harness_name="codex", team="mobile"), "openai", False),
        (Identity(user_id="ci-bot@example.com", harness_name="codex"), "openai", True),  # case-insensitive
    ],
)
def test_forced_subscription(pricer: Pricer, identity: Identity, provider: str, forced: bool) -> None:
    model = "claude-haiku-4-5" if provider == "anthropic" else "gpt-5"
    costs = pricer.price(make_call(model, provider, input=1_000_000, identity=identity))
    assert costs.list_total is not None and costs.list_total > 0
    if forced:
        assert (costs.total, costs.estimation, costs.source) == (Decimal(0), "subscription", "override")
    else:
        assert costs.estimation == "metered" and costs.total == costs.list_total * (
            Decimal("0.9") if provider == "anthropic" else 1
        )


def test_the_emitters_own_subscription_claim_is_recorded_as_reported(pricer: Pricer) -> None:
    identity = Identity(user_id="ci-bot@example.com")
    call = make_call(
        "gpt-5", "openai", input=8, identity=identity, reported=ReportedCost(estimation="subscription")
    )
    assert pricer.price(call).source == "reported", "so reprice still knows it without the rule"


def test_forced_subscription_for_an_unknown_model_still_has_no_list_price(pricer: Pricer) -> None:
    costs = pricer.price(make_call("mystery", None, input=5, identity=Identity(user_id="ci-bot@example.com")))
    assert (costs.total, costs.list_total, costs.estimation) == (Decimal(0), None, "subscription")


def test_prefer_reported() -> None:
    reported = ReportedCost(total=Decimal("0.00135"))
    call = make_call("gpt-5", "openai", input=40, cache_read=2_000, output=120, reported=reported)
    default = Pricer().price(call)
    preferring = Pricer(overrides=parse_overrides({"prefer_reported": True})).price(call)
    assert (default.total, default.source) == (Decimal("0.0015"), "list_price")
    assert (preferring.total, preferring.source) == (Decimal("0.00135"), "reported")
    assert preferring.list_total == Decimal("0.0015"), "the list price is kept either way"
    unreported = Pricer(overrides=parse_overrides({"prefer_reported": True})).price(
        make_call("gpt-5", "openai", input=8)
    )
    assert (unreported.total, unreported.source) == (usd((8, "1.25")), "list_price")


def test_empty_file_means_no_overrides(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n")
    overrides = load_overrides(path)
    assert overrides.models == () and not overrides.prefer_reported and overrides.digest


def test_the_shipped_example_is_valid() -> None:
    overrides = load_overrides(ROOT / "examples" / "price-overrides.yaml")
    assert overrides.models and overrides.provider_multipliers and overrides.subscription


X = "models:\n  - model: x\n    "  # the start of a model entry, to keep the cases short


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("modles: []", "modles: unknown key"),
        ("- a\n- b", "expected a mapping, got a list"),
        ("version: 2", "version: unsupported version 2"),
        ("prefer_reported: sometimes", "prefer_reported: expected true or false"),
        (X + "prices: {input: abc, output: 1}", "models[0].prices.input: expected a number"),
        (X + "prices: {input: 1}", "models[0].prices.output: required"),
        (X + "prices: {input: 1, output: -2}", "models[0].prices.output: expected a non-negative"),
        ("models:\n  - prices: {input: 1, output: 2}", "models[0].model: required"),
        (X + "prices: {input: 1, output: 2, cached: 1}", "models[0].prices.cached: unknown key"),
        (X + "match: '(unclosed'\n    prices: {input: 1, output: 2}",
         "models[0].match: invalid regular expression"),
        ("models:\n  - {model: x, prices: {input: 1, output: 2}}\n"
         "  - {model: y, aliases: [X], prices: {input: 1, output: 2}}",
         "models[1]: model name 'x' is already defined by models[0]"),
        (X + "prices: {input: 1, output: 2, cache_read: 0.1}\n    long_context: {input: 2, output: 4}",
         "models[0].long_context.cache_read: required"),
        (X + "prices: {input: 1, output: 2}\n    long_context: {threshold: -5, input: 2, output: 4}",
         "models[0].long_context.threshold: expected a positive whole number"),
        ("multipliers:\n  providers:\n    anthropic: 0",
         "multipliers.providers.anthropic: expected a positive number"),
        ("multipliers:\n  teams: {a: 1}", "multipliers.teams: unknown key"),
        ("subscription:\n  - team: mobile\n    colour: red", "subscription[0].colour: unknown key"),
        ("subscription:\n  - {}", "subscription[0]: a rule needs at least one of"),
        ("subscription: {team: mobile}", "subscription: expected a list of rules"),
        ("models: [\n", "not valid YAML"),
    ],
)  # fmt: skip
def test_invalid_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PriceOverridesError) as error:
        load_overrides(path)
    assert message in str(error.value.message)
    assert str(path) in error.value.message


@pytest.mark.e2e
def test_bridge_refuses_to_start_with_an_invalid_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("multipliers:\n  providers:\n    openai: lots\n")
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "serve", "--database-url", "postgresql://127.0.0.1:1/none",
         "--grpc-port", "0", "--http-port", "0", "--price-overrides", str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "multipliers.providers.openai: expected a number, got 'lots'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "grpc=" not in result.stdout
