"""OpenLIT spans: GenAI conventions plus `gen_ai.usage.cost`, stored as the reported cost."""

from __future__ import annotations

from decimal import Decimal

from bridge.mapping import map_traces
from bridge.model import Tokens
from tests.support.adapters import only_call, span, traces

RESOURCE = {
    "service.name": "docs-assistant",
    "telemetry.sdk.name": "openlit",
    "deployment.environment": "prod",
}
CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.response.id": "chatcmpl-OpenLIT1",
    "gen_ai.usage.input_tokens": 1800,
    "gen_ai.usage.output_tokens": 200,
    "gen_ai.usage.cost": 0.00039,
    "gen_ai.usage.total_tokens": 2000,
}


def test_chat_span_with_reported_cost_and_framework_span_ignored() -> None:
    spans = [
        span(
            "langchain.retrieval_qa",
            {
                "gen_ai.operation.name": "framework",
                "gen_ai.usage.input_tokens": 1800,
                "gen_ai.usage.output_tokens": 200,
            },
            "a000000000000001",
        ),
        span("chat gpt-4o-mini", CHAT, "a000000000000002", parent="a000000000000001"),
    ]
    result = map_traces(traces(RESOURCE, spans, scope="openlit.otel.tracing"))
    call = only_call(result)
    assert result.ignored == 1
    assert call.tokens == Tokens(input=1800, output=200)
    assert (call.source, call.provider, call.reported.total) == ("openlit", "openai", Decimal("0.00039"))
    assert call.identity.environment == "prod"


def test_rejection_names_the_cost_attribute() -> None:
    result = map_traces(
        traces(RESOURCE, [span("chat", CHAT | {"gen_ai.usage.cost": "NaN"}, "a000000000000003")])
    )
    assert "'gen_ai.usage.cost'" in result.rejections[0].reason
