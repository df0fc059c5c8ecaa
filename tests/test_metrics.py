"""The unpriced-model metric keeps one series per model, but a bounded number of them."""

from __future__ import annotations

from bridge.metrics import MAX_UNPRICED_SERIES, Metrics


def test_unpriced_model_series_are_bounded() -> None:
    metrics = Metrics()
    for i in range(MAX_UNPRICED_SERIES + 50):
        metrics.count_unpriced(f"junk-{i}")
    metrics.count_unpriced("junk-0")  # a model already seen keeps its own series
    text = metrics.render().decode()
    series = [line for line in text.splitlines() if line.startswith("agent_spend_unpriced_calls_total{")]
    assert len(series) == MAX_UNPRICED_SERIES + 1
    assert 'agent_spend_unpriced_calls_total{model="(other)"} 50.0' in series
    assert 'agent_spend_unpriced_calls_total{model="junk-0"} 2.0' in series
