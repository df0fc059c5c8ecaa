"""Our per-bucket arithmetic agrees with `genai_prices.calc_price` wherever we don't fix it.

The bridge reads genai-prices' table and prices each bucket itself (calc_price only gives
input and output totals). These tests hold that reimplementation to the library: same
cache semantics (input includes cache), same whole-request tiers, same price history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.model import Tokens
from bridge.pricing.catalog import (
    BUNDLED_PROVIDERS,
    PROVIDER_IDS,
    active_price_index,
    bucket_costs,
    find_model,
    list_card,
)

# (OTel provider, model as emitted) for the models coding agents use most, plus a few with
# tiers, price history or time-of-day prices.
MODELS = [
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-opus-4-1-20250805"),
    ("anthropic", "claude-haiku-4-5"),
    ("anthropic", "claude-sonnet-4-6"),
    ("anthropic", "claude-opus-4-6"),
    ("openai", "gpt-5"),
    ("openai", "gpt-4.1"),
    ("openai", "o3"),
    ("openai", "gpt-5.6-luna"),
    ("gcp.gemini", "gemini-2.5-pro"),
    ("gcp.gemini", "gemini-2.5-flash"),
    ("gcp.vertex_ai", "claude-sonnet-4-5@20250929"),
    ("aws.bedrock", "global.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("azure.ai.openai", "gpt-4.1"),
    ("deepseek", "deepseek-chat"),
    ("x_ai", "grok-4"),
]

ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile"
token_counts = st.integers(min_value=0, max_value=600_000)
timestamps = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 1), timezones=st.just(UTC)
)


@settings(max_examples=400, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    uncached=token_counts,
    cache_read=token_counts,
    cache_write=token_counts,
    one_hour_share=st.floats(min_value=0, max_value=1),
    output=token_counts,
    ts=timestamps,
)
def test_bucket_costs_add_up_to_calc_price(
    model: tuple[str, str],
    uncached: int,
    cache_read: int,
    cache_write: int,
    one_hour_share: float,
    output: int,
    ts: datetime,
) -> None:
    provider, ref = model
    found = find_model(provider, ref)
    assert found is not None, f"{provider}/{ref} should be in the bundled table"
    genai_provider, info = found
    card = list_card(genai_provider, info, active_price_index(info, ts), fixes=False)
    assert card is not None
    one_hour = int(cache_write * one_hour_share)
    tokens = Tokens(
        input=uncached, cache_read=cache_read, cache_write=cache_write, cache_write_1h=one_hour, output=output
    )
    ours = bucket_costs(card, tokens)
    assert ours is not None
    # genai-prices' input_tokens INCLUDES cached tokens; cache writes include 1-hour writes.
    usage = Usage(
        input_tokens=uncached + cache_read + cache_write,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=one_hour,
        output_tokens=output,
    )
    theirs = calc_price(usage, ref, provider_id=PROVIDER_IDS[provider], genai_request_timestamp=ts)
    # Ours is rounded per bucket to the column scale (1e-10); four roundings at most.
    assert abs(ours.total - theirs.total_price) <= Decimal("2e-10")
    assert abs(ours.output - theirs.output_price) <= Decimal("1e-10")


def test_time_of_day_prices_are_not_cached_by_date() -> None:
    found = find_model("deepseek", "deepseek-chat")
    assert found is not None
    _, info = found
    day = datetime(2026, 5, 4, tzinfo=UTC)
    indexes = {active_price_index(info, day + timedelta(hours=h)) for h in range(24)}
    assert len(indexes) == 2, "DeepSeek's off-peak window changes the price within a day"


@pytest.mark.parametrize(
    ("provider", "model", "genai_provider", "model_id"),
    [
        ("anthropic", "claude-sonnet-4-5-20250929", "anthropic", "claude-sonnet-4-5"),
        ("gcp.vertex_ai", "gemini-2.5-pro", "google", "gemini-2.5-pro"),
        ("gcp.gen_ai", "gemini-2.5-pro", "google", "gemini-2.5-pro"),
        ("azure.ai.openai", "gpt-5", "azure", "gpt-5"),
        ("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws",
         "regional.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("aws.bedrock", f"{ARN}/global.anthropic.claude-haiku-4-5-20251001-v1:0", "aws",
         "global.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("mistral_ai", "codestral-2508", "mistral", None),
        ("unknown", "gpt-4.1", "openai", "gpt-4.1"),
    ],
)  # fmt: skip
def test_provider_and_model_resolution(
    provider: str, model: str, genai_provider: str, model_id: str | None
) -> None:
    found = find_model(provider, model)
    assert found is not None
    assert found[0].id == genai_provider
    if model_id is not None:
        assert found[1].id == model_id


@pytest.mark.parametrize(
    ("provider", "model"), [("ollama", "llama3.1:8b"), ("vllm", "gpt-5"), (None, "acme-7b")]
)
def test_self_hosted_and_unknown_models_are_not_resolved(provider: str | None, model: str) -> None:
    assert find_model(provider, model) is None


def test_every_mapped_provider_exists_in_genai_prices() -> None:
    ids = {p.id for p in BUNDLED_PROVIDERS}
    assert set(PROVIDER_IDS.values()) <= ids
