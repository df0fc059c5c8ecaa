"""List prices to the micro-dollar, computed by hand from the providers' published prices.

Each expected figure is written out as tokens x published $/MTok, so a reader can check it
against the provider's pricing page without trusting our code or genai-prices.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bridge.admin.reprice import rebuild_call
from bridge.model import ReportedCost
from bridge.pricing.overrides import PriceOverrides
from bridge.pricing.pricer import CACHE_WRITE_1H_ATTR, SPEED_PRICED_ATTR, Costs, Pricer, estimation_of
from tests.support.pricing import TS, VERSION, make_call, usd


@pytest.fixture(scope="module")
def pricer() -> Pricer:
    return Pricer()


def assert_buckets(
    costs: Costs, *, input: Decimal, output: Decimal, cache_read: Decimal, cache_write: Decimal
) -> None:
    assert (costs.input, costs.output, costs.cache_read, costs.cache_write) == (
        input,
        output,
        cache_read,
        cache_write,
    )
    assert costs.total == input + output + cache_read + cache_write
    assert costs.list_total == costs.total
    assert costs.source == "list_price" and costs.estimation == "metered"
    assert costs.price_version == VERSION


def test_claude_sonnet_4_5_every_bucket_with_5m_and_1h_cache_writes(pricer: Pricer) -> None:
    # Anthropic, Claude Sonnet 4.5: $3 input, $15 output, $0.30 cache read,
    # $3.75 5-minute cache write, $6 1-hour cache write (per million tokens).
    call = make_call("claude-sonnet-4-5-20250929", "anthropic", input=1_234, cache_read=45_678,
                     cache_write=3_000, cache_write_1h=1_000, output=789, reasoning=200)  # fmt: skip
    costs = pricer.price(call)
    assert_buckets(
        costs,
        input=usd((1_234, "3")),
        cache_read=usd((45_678, "0.30")),
        cache_write=usd((2_000, "3.75"), (1_000, "6")),
        output=usd((789, "15")),  # reasoning is inside output, not added again
    )
    assert costs.total == Decimal("0.0427404")
    assert call.attributes[CACHE_WRITE_1H_ATTR] == 1_000, "kept on the row so reprice can rebuild it"


def test_all_5m_vs_all_1h_cache_writes(pricer: Pricer) -> None:
    five = pricer.price(make_call("claude-sonnet-4-5", "anthropic", cache_write=10_000))
    hour = pricer.price(
        make_call("claude-sonnet-4-5", "anthropic", cache_write=10_000, cache_write_1h=10_000)
    )
    assert five.cache_write == usd((10_000, "3.75")) == Decimal("0.0375")
    assert hour.cache_write == usd((10_000, "6")) == Decimal("0.06")


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        # Exactly 200,000 prompt tokens (input + cache read + cache write): still the base rate.
        (dict(input=150_000, cache_read=50_000, output=1_000),
         usd((150_000, "3"), (50_000, "0.30"), (1_000, "15"))),
        # One more token: the WHOLE request at $6 / $22.50 / $0.60 read / $7.50 write / $12 1h write.
        (dict(input=150_001, cache_read=50_000, output=1_000),
         usd((150_001, "6"), (50_000, "0.60"), (1_000, "22.50"))),
        # Crossing through cached tokens alone counts too.
        (dict(input=100_000, cache_read=99_999, cache_write=2, cache_write_1h=1),
         usd((100_000, "6"), (99_999, "0.60"), (1, "7.50"), (1, "12"))),
    ],
    ids=["at-threshold", "one-over", "over-through-cache"],
)  # fmt: skip
def test_sonnet_4_5_long_context_tier_is_decided_per_request(
    pricer: Pricer, tokens: dict[str, int], expected: Decimal
) -> None:
    assert pricer.price(make_call("claude-sonnet-4-5", "anthropic", **tokens)).total == expected


def test_sonnet_4_5_long_context_exact_figures(pricer: Pricer) -> None:
    below = pricer.price(
        make_call("claude-sonnet-4-5", "anthropic", input=150_000, cache_read=50_000, output=1_000)
    )
    above = pricer.price(
        make_call("claude-sonnet-4-5", "anthropic", input=150_001, cache_read=50_000, output=1_000)
    )
    assert below.total == Decimal("0.48")  # 0.45 + 0.015 + 0.015
    assert above.total == Decimal("0.952506")  # 0.900006 + 0.03 + 0.0225
    assert above.output == Decimal("0.0225"), "output switches tier with the prompt"


def test_claude_opus_4_1(pricer: Pricer) -> None:
    # Anthropic, Claude Opus 4.1: $15 / $75 / $1.50 cache read / $18.75 5-minute cache write.
    costs = pricer.price(make_call("claude-opus-4-1-20250805", "anthropic", input=2_000, output=1_000,
                                   cache_read=10_000, cache_write=500))  # fmt: skip
    assert_buckets(costs, input=usd((2_000, "15")), output=usd((1_000, "75")),
                   cache_read=usd((10_000, "1.50")), cache_write=usd((500, "18.75")))  # fmt: skip
    assert costs.total == Decimal("0.129375")


def test_claude_haiku_4_5(pricer: Pricer) -> None:
    # Anthropic, Claude Haiku 4.5: $1 / $5 / $0.10 cache read / $1.25 5-minute cache write.
    costs = pricer.price(make_call("claude-haiku-4-5-20251001", "anthropic", input=10_000, output=2_000,
                                   cache_read=50_000, cache_write=4_000))  # fmt: skip
    assert_buckets(costs, input=usd((10_000, "1")), output=usd((2_000, "5")),
                   cache_read=usd((50_000, "0.10")), cache_write=usd((4_000, "1.25")))  # fmt: skip
    assert costs.total == Decimal("0.03")


def test_gpt_5_reasoning_is_part_of_output(pricer: Pricer) -> None:
    # OpenAI, GPT-5: $1.25 input, $0.125 cached input, $10 output (reasoning billed as output).
    costs = pricer.price(make_call("gpt-5-2025-08-07", "openai", input=40, cache_read=2_000, output=1_000,
                                   reasoning=600))  # fmt: skip
    assert_buckets(costs, input=usd((40, "1.25")), output=usd((1_000, "10")),
                   cache_read=usd((2_000, "0.125")), cache_write=Decimal(0))  # fmt: skip
    assert costs.output == Decimal("0.01"), "600 reasoning tokens are among the 1000 output tokens"
    assert costs.total == Decimal("0.0103")


def test_gpt_4_1(pricer: Pricer) -> None:
    # OpenAI, GPT-4.1: $2 input, $0.50 cached input, $8 output.
    costs = pricer.price(make_call("gpt-4.1", "openai", input=500, cache_read=1_500, output=20))
    assert_buckets(costs, input=usd((500, "2")), output=usd((20, "8")),
                   cache_read=usd((1_500, "0.50")), cache_write=Decimal(0))  # fmt: skip
    assert costs.total == Decimal("0.00191")


@pytest.mark.parametrize(
    ("uncached", "expected"),
    [
        # Google, Gemini 2.5 Pro, prompts <= 200k: $1.25 input, $0.125 cached, $10 output.
        (150_000, usd((150_000, "1.25"), (50_000, "0.125"), (2_000, "10"))),
        # Prompts > 200k: $2.50 input, $0.25 cached, $15 output, for the whole request.
        (150_001, usd((150_001, "2.50"), (50_000, "0.25"), (2_000, "15"))),
    ],
)
def test_gemini_2_5_pro_both_tiers(pricer: Pricer, uncached: int, expected: Decimal) -> None:
    costs = pricer.price(
        make_call("gemini-2.5-pro", "gcp.gemini", input=uncached, cache_read=50_000, output=2_000)
    )
    assert costs.total == expected
    assert costs.total in (Decimal("0.21375"), Decimal("0.4175025"))


def test_claude_sonnet_4_long_context_is_a_packaged_fix(pricer: Pricer) -> None:
    # genai-prices 0.2.3 has no >200k tier for Claude Sonnet 4; Anthropic published
    # $6 input / $22.50 output above 200k prompt tokens (1M-context beta), like Sonnet 4.5.
    below = pricer.price(make_call("claude-sonnet-4-20250514", "anthropic", input=200_000, output=1_000))
    above = pricer.price(make_call("claude-sonnet-4-20250514", "anthropic", input=250_000, output=1_000))
    assert below.total == usd((200_000, "3"), (1_000, "15")) == Decimal("0.615")
    assert above.total == usd((250_000, "6"), (1_000, "22.50")) == Decimal("1.5225")


def test_bedrock_regional_sonnet_4_5_long_context_keeps_the_regional_premium(pricer: Pricer) -> None:
    # AWS Bedrock, in-region (us.) Claude Sonnet 4.5: $3.30 / $16.50, i.e. 10% over global;
    # long context (1M beta): $6.60 / $24.75. genai-prices 0.2.3 has the base price only.
    model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert pricer.price(make_call(model, "aws.bedrock", input=1_000, output=100)).total == usd(
        (1_000, "3.30"), (100, "16.50")
    )
    assert pricer.price(make_call(model, "aws.bedrock", input=300_000, output=1_000)).total == usd(
        (300_000, "6.60"), (1_000, "24.75")
    )


def test_one_hour_cache_write_on_vertex_for_older_claude_is_2x_input(pricer: Pricer) -> None:
    # Anthropic: 1-hour cache writes cost 2x base input ($6 for Sonnet 4) on every platform;
    # genai-prices 0.2.3 has no 1h rate for Sonnet 4 on Vertex and would charge $3.75.
    costs = pricer.price(
        make_call("claude-sonnet-4@20250514", "gcp.vertex_ai", cache_write=1_000, cache_write_1h=400)
    )
    assert costs.cache_write == usd((600, "3.75"), (400, "6"))


def test_price_in_effect_at_the_call_timestamp(pricer: Pricer) -> None:
    # OpenAI cut o3 from $10 / $40 to $2 / $8 on 2025-06-10 (UTC dates).
    before = make_call(
        "o3", "openai", input=1_000_000, output=100_000, ts=datetime(2025, 6, 9, 23, 59, tzinfo=UTC)
    )
    after = make_call("o3", "openai", input=1_000_000, output=100_000, ts=datetime(2025, 6, 10, tzinfo=UTC))
    assert pricer.price(before).total == usd((1_000_000, "10"), (100_000, "40")) == Decimal("14")
    assert pricer.price(after).total == usd((1_000_000, "2"), (100_000, "8")) == Decimal("2.8")


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("azure.ai.openai", "gpt-4.1", usd((1_000, "2"), (100, "8"))),
        ("gcp.vertex_ai", "claude-sonnet-4-5@20250929", usd((1_000, "3"), (100, "15"))),
        ("aws.bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", usd((1_000, "3"), (100, "15"))),
        (None, "claude-haiku-4-5", usd((1_000, "1"), (100, "5"))),  # provider inferred from the model
        ("anthropic", "anthropic/claude-haiku-4.5", usd((1_000, "1"), (100, "5"))),
        ("gcp.gemini", "models/gemini-2.5-pro", usd((1_000, "1.25"), (100, "10"))),
    ],
)
def test_otel_provider_names_map_to_genai_prices(
    pricer: Pricer, provider: str | None, model: str, expected: Decimal
) -> None:
    assert pricer.price(make_call(model, provider, input=1_000, output=100)).total == expected


def test_unknown_model_is_never_priced_as_zero(pricer: Pricer) -> None:
    costs = pricer.price(make_call("llama3.3:70b", "ollama", input=1_000, output=100))
    assert costs == Costs(source="none", estimation="unreported", price_version=VERSION)
    assert pricer.price(make_call("gpt-5", "ollama", input=1, output=1)).total is None, (
        "self-hosted: no cloud price"
    )


def test_unknown_model_with_a_reported_cost_uses_it(pricer: Pricer) -> None:
    costs = pricer.price(make_call("my-internal-model", None, input=10, output=10,
                                   reported=ReportedCost(total=Decimal("0.0042"))))  # fmt: skip
    assert (costs.total, costs.source, costs.estimation, costs.list_total) == (
        Decimal("0.0042"),
        "reported",
        "metered",
        None,
    )


def test_request_model_is_the_fallback_when_the_response_model_is_unknown(pricer: Pricer) -> None:
    call = make_call("my-azure-deployment", "azure.ai.openai", request_model="gpt-4.1", input=1_000)
    assert pricer.price(call).total == usd((1_000, "2"))


def test_list_price_wins_over_reported_by_default_and_both_are_kept(pricer: Pricer) -> None:
    reported = ReportedCost(total=Decimal("0.00135"), estimation="metered")
    costs = pricer.price(
        make_call("gpt-5", "openai", input=40, cache_read=2_000, output=120, reported=reported)
    )
    assert (costs.total, costs.source, costs.reported_total, costs.list_total) == (
        Decimal("0.0015"),
        "list_price",
        Decimal("0.00135"),
        Decimal("0.0015"),
    )


def test_reported_parts_become_the_buckets_only_when_they_add_up() -> None:
    pricer = Pricer(overrides=PriceOverrides(prefer_reported=True))
    parts = ReportedCost(input=Decimal("0.1"), output=Decimal("0.2"), total=Decimal("0.3"))
    costs = pricer.price(make_call("gpt-5", "openai", input=1, output=1, reported=parts))
    assert (costs.input, costs.output, costs.cache_read, costs.total) == (
        Decimal("0.1"),
        Decimal("0.2"),
        Decimal(0),
        Decimal("0.3"),
    )
    mismatched = ReportedCost(input=Decimal("0.1"), total=Decimal("0.3"))
    costs = pricer.price(make_call("gpt-5", "openai", input=1, output=1, reported=mismatched))
    assert (costs.input, costs.total, costs.source) == (None, Decimal("0.3"), "reported")


@pytest.mark.parametrize(
    "reported",
    [ReportedCost(estimation="subscription"), ReportedCost(total=Decimal(0)),
     ReportedCost(total=Decimal("1.5"), estimation="subscription")],
    ids=["says-subscription", "reports-zero", "subscription-with-an-estimate"],
)  # fmt: skip
def test_subscription_costs_zero_and_keeps_the_list_equivalent(
    pricer: Pricer, reported: ReportedCost
) -> None:
    call = make_call("claude-opus-4-1", "anthropic", input=1_000, output=1_000, reported=reported)
    costs = pricer.price(call)
    assert estimation_of(call) == "subscription"
    assert (costs.total, costs.estimation, costs.source) == (Decimal(0), "subscription", "reported")
    assert (costs.input, costs.output, costs.cache_read, costs.cache_write) == (0, 0, 0, 0)
    assert costs.list_total == usd((1_000, "15"), (1_000, "75")) == Decimal("0.09")
    assert costs.reported_total == reported.total


def test_zero_reported_for_a_call_without_tokens_is_metered(pricer: Pricer) -> None:
    costs = pricer.price(make_call("gpt-5", "openai", reported=ReportedCost(total=Decimal(0))))
    assert (costs.total, costs.estimation, costs.source) == (Decimal(0), "metered", "list_price")


def test_errors_without_usage_cost_zero_but_are_priced(pricer: Pricer) -> None:
    costs = pricer.price(make_call("claude-sonnet-4-5", "anthropic"))
    assert (costs.total, costs.source, costs.list_total) == (Decimal(0), "list_price", Decimal(0))


def test_lookups_are_cached(pricer: Pricer) -> None:
    call = make_call("claude-sonnet-4-5-20250929", "anthropic", input=10, output=10)
    pricer.price(call)
    hits = pricer._resolve.cache_info().hits
    for _ in range(100):
        pricer.price(call)
    assert pricer._resolve.cache_info().hits == hits + 100


def test_fast_mode_is_priced_with_the_tables_fast_prices_and_marked(pricer: Pricer) -> None:
    # Claude Opus 4.8 fast mode (speed: fast): $10 input, $50 output, $1 cache read, $12.50
    # 5-minute cache write, i.e. 2x the standard $5 / $25 / $0.50 / $6.25.
    tokens = dict(input=1_000, output=500, cache_read=2_000, cache_write=1_000)
    standard = pricer.price(make_call("claude-opus-4-8", "anthropic", **tokens))
    fast_call = make_call("claude-opus-4-8", "anthropic", **tokens)
    fast_call.attributes["speed"] = "fast"
    fast = pricer.price(fast_call)
    assert_buckets(
        fast,
        input=usd((1_000, "10")),
        output=usd((500, "50")),
        cache_read=usd((2_000, "1")),
        cache_write=usd((1_000, "12.5")),
    )
    assert fast.total == 2 * standard.total
    assert fast_call.attributes[SPEED_PRICED_ATTR] == "fast"


def test_fast_mode_without_a_fast_price_is_priced_at_standard_and_says_so(pricer: Pricer) -> None:
    normal = make_call("claude-sonnet-4-5", "anthropic", input=1_000, output=100)
    normal.attributes["speed"] = "normal"
    fast_call = make_call("claude-sonnet-4-5", "anthropic", input=1_000, output=100)
    fast_call.attributes["speed"] = "fast"
    assert pricer.price(fast_call).total == pricer.price(normal).total == usd((1_000, "3"), (100, "15"))
    assert fast_call.attributes[SPEED_PRICED_ATTR] == "standard", "the list figure is known to be low"
    assert SPEED_PRICED_ATTR not in normal.attributes


def test_reprice_keeps_fast_mode() -> None:
    row = (
        1, TS, "claude-opus-4-8", None, "anthropic", "claude-code", "ana", "t",
        1_000, 0, 0, 0, 0, None, None, None, None, None,
        "metered", None, None, "list_price", VERSION, {"speed": "fast", "prompt.id": "x"},
    )  # fmt: skip
    call = rebuild_call(row)
    assert call.attributes == {"speed": "fast"}
    assert Pricer().price(call).total == usd((1_000, "10"))
