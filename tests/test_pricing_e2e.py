"""End to end: a span through the running bridge comes out priced, to the micro-dollar."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

from tests.support.bridge_process import BridgeProcess, start_bridge
from tests.support.db import rows
from tests.support.otlp import json_span, json_traces, post
from tests.support.pricing import VERSION

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
COST_QUERY = """
    SELECT model, input_cost_usd, output_cost_usd, cache_read_cost_usd, cache_write_cost_usd, total_cost_usd,
           list_cost_usd, reported_cost_usd, cost_source, cost_estimation, price_version
    FROM agent_spend_logs ORDER BY span_id
"""


def usage(input_with_cache: int, cache_read: int, cache_write: int, output: int) -> dict[str, int]:
    # OTel GenAI semantic conventions: input_tokens includes cached tokens.
    return {
        "gen_ai.usage.input_tokens": input_with_cache,
        "gen_ai.usage.cache_read.input_tokens": cache_read,
        "gen_ai.usage.cache_creation.input_tokens": cache_write,
        "gen_ai.usage.output_tokens": output,
    }


def span(span_id: str, provider: str, model: str, **attrs: object) -> dict[str, object]:
    return json_span(TRACE, span_id, f"chat {model}",
                     {"gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
                      "gen_ai.request.model": model, **attrs})  # fmt: skip


def test_span_through_the_bridge_is_stored_at_list_price(bridge: BridgeProcess, database_url: str) -> None:
    spans = [
        # 100 uncached + 1000 cache read + 100 cache write, 300 output (50 of it reasoning).
        span("0000000000000001", "anthropic", "claude-sonnet-4-5-20250929",
             **usage(1_200, 1_000, 100, 300), **{"gen_ai.usage.reasoning.output_tokens": 50}),
        # The emitter reported $0.00135; the list price wins by default, both are kept.
        # (agent.* emitters report input excluding cache: 40 uncached + 2000 cache read.)
        span("0000000000000002", "openai", "gpt-5",
             **usage(40, 2_000, 0, 120), **{"agent.cost.total.usd": 0.00135}),
        span("0000000000000003", "ollama", "llama3.3:70b", **usage(500, 0, 0, 50)),
    ]  # fmt: skip
    status, _, _ = post(f"{bridge.http_url}/v1/traces", json_traces({"service.name": "claude-code"}, spans))
    assert status == 200
    sonnet, gpt5, llama = rows(database_url, COST_QUERY)
    # Claude Sonnet 4.5: $3 input, $15 output, $0.30 cache read, $3.75 5-minute cache write.
    assert sonnet == (
        "claude-sonnet-4-5-20250929",
        Decimal("0.0003000000"),  # 100 x $3 / 1M
        Decimal("0.0045000000"),  # 300 x $15 / 1M, reasoning included once
        Decimal("0.0003000000"),  # 1000 x $0.30 / 1M
        Decimal("0.0003750000"),  # 100 x $3.75 / 1M
        Decimal("0.0054750000"),
        Decimal("0.0054750000"),
        None,
        "list_price",
        "metered",
        VERSION,
    )
    # GPT-5: $1.25 input, $0.125 cached input, $10 output.
    assert gpt5[5:] == (
        Decimal("0.0015000000"),  # 40 x 1.25 + 2000 x 0.125 + 120 x 10 = 1500 / 1M
        Decimal("0.0015000000"),
        Decimal("0.0013500000"),
        "list_price",
        "metered",
        VERSION,
    )
    assert llama[1:] == (None, None, None, None, None, None, None, "none", "unreported", VERSION)
    assert rows(
        database_url, "SELECT model, provider, calls, calls_without_cost, tokens FROM unpriced_models"
    ) == [("llama3.3:70b", "ollama", 1, 1, 550)]


def test_bridge_with_overrides_file(database_url: str, tmp_path: Path) -> None:
    overrides = tmp_path / "prices.yaml"
    overrides.write_text(
        "models:\n"
        "  - model: acme-coder-70b\n"
        "    prices: {input: 0.40, output: 1.20}\n"
        "multipliers:\n"
        "  providers: {openai: 0.5}\n"
        "subscription:\n"
        "  - harness: claude-code\n"
    )
    digest = hashlib.sha256(overrides.read_bytes()).hexdigest()[:12]
    proc = start_bridge(database_url, "--price-overrides", str(overrides))
    try:
        body = json_traces({"service.name": "codex"}, [
            span("0000000000000001", "ollama", "acme-coder-70b", **usage(10_000, 0, 0, 1_000)),
            span("0000000000000002", "openai", "gpt-4.1", **usage(1_000, 0, 0, 100)),
            span("0000000000000003", "ollama", "mystery-model", **usage(10, 0, 0, 10)),
        ])  # fmt: skip
        assert post(f"{proc.http_url}/v1/traces", body)[0] == 200
        sub = json_traces({"service.name": "claude-code"}, [
            span("0000000000000004", "anthropic", "claude-haiku-4-5", **usage(1_000, 0, 0, 100)),
        ])  # fmt: skip
        assert post(f"{proc.http_url}/v1/traces", sub)[0] == 200
    finally:
        assert proc.stop() == 0
    acme, gpt41, mystery, haiku = rows(database_url, COST_QUERY)
    version = f"{VERSION}+overrides:{digest}"
    # acme-coder-70b at the operator's $0.40 / $1.20.
    assert acme[5:] == (Decimal("0.0052"), Decimal("0.0052"), None, "override", "metered", version)
    # GPT-4.1 list $2 / $8 = 0.0028, half of it charged.
    assert gpt41[1:] == (Decimal("0.001"), Decimal("0.0004"), 0, 0, Decimal("0.0014"), Decimal("0.0028"),
                         None, "override", "metered", version)  # fmt: skip
    assert mystery[5:] == (None, None, None, "none", "unreported", version)
    # Claude Haiku 4.5 list $1 / $5 = 0.0015 saved by the subscription.
    assert haiku[5:] == (0, Decimal("0.0015"), None, "override", "subscription", version)
    assert rows(database_url, "SELECT model FROM unpriced_models") == [("mystery-model",)]


def test_one_hour_cache_writes_through_the_bridge(bridge: BridgeProcess, database_url: str) -> None:
    # agent.* emitters: input excludes cache. 1000 cache-write tokens, 400 of them with 1-hour TTL.
    attrs = {
        **usage(10, 0, 1_000, 0),
        "agent.usage.cache_write_1h.input_tokens": 400,
        "agent.session.id": "s",
    }
    body = json_traces(
        {"service.name": "pi"}, [span("0000000000000001", "anthropic", "claude-sonnet-4-5", **attrs)]
    )
    assert post(f"{bridge.http_url}/v1/traces", body)[0] == 200
    # Claude Sonnet 4.5: 10 x $3 input; 600 x $3.75 (5-minute) + 400 x $6 (1-hour) cache write.
    assert rows(
        database_url, "SELECT input_cost_usd, cache_write_cost_usd, total_cost_usd FROM agent_spend_logs"
    ) == [(Decimal("0.00003"), Decimal("0.00465"), Decimal("0.00468"))]
    (attributes,) = rows(database_url, "SELECT attributes FROM agent_spend_logs")[0]
    assert attributes["agent_spend.cache_write_1h_tokens"] == 400, "kept for reprice"
