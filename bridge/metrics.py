"""Prometheus metrics of the bridge, on a registry of its own so tests can run many bridges."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

MAX_UNPRICED_SERIES = 200


class Metrics:
    """The bridge's Prometheus counters, gauges and histograms, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "agent_spend_requests",
            "Export requests by transport, signal and outcome",
            ["transport", "signal", "outcome"],
            registry=r,
        )
        self.records_received = Counter(
            "agent_spend_records_received", "Spans or log records received", ["signal"], registry=r
        )
        self.model_calls = Counter(
            "agent_spend_model_calls",
            "Records mapped to a model call, by source adapter",
            ["signal", "source"],
            registry=r,
        )
        self.rows_written = Counter(
            "agent_spend_rows_written", "Rows committed to agent_spend_logs", registry=r
        )
        self.duplicates = Counter(
            "agent_spend_duplicates_skipped", "Model calls already stored (retries, replays)", registry=r
        )
        self.rejected = Counter(
            "agent_spend_records_rejected", "Records refused as invalid model calls", ["signal"], registry=r
        )
        self._unpriced_models: set[str] = set()
        self.unpriced = Counter(
            "agent_spend_unpriced_calls", "Model calls whose model has no known price", ["model"], registry=r
        )
        self.batch_latency = Histogram(
            "agent_spend_batch_write_seconds",
            "Time to write and commit one batch",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.batch_rows = Histogram(
            "agent_spend_batch_rows",
            "Rows per committed batch",
            registry=r,
            buckets=(1, 10, 50, 100, 500, 1000, 5000, 20000),
        )
        self.queue_depth = Gauge("agent_spend_queue_rows", "Rows waiting to be written", registry=r)
        self.inflight_bytes = Gauge(
            "agent_spend_inflight_bytes",
            "Decoded request bytes reserved in the in-flight memory budget (--max-inflight-mib)",
            registry=r,
        )
        self.database_up = Gauge(
            "agent_spend_database_up", "1 when the last write or probe succeeded", registry=r
        )

    def count_unpriced(self, model: str) -> None:
        """One series per unknown model, but bounded: junk model names must not grow memory."""
        if model not in self._unpriced_models and len(self._unpriced_models) >= MAX_UNPRICED_SERIES:
            model = "(other)"
        self._unpriced_models.add(model)
        self.unpriced.labels(model).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
