"""Prometheus metrics of the bridge, on a registry of its own so tests can run many bridges.

With `serve --workers N` (N > 1) every worker process is started with PROMETHEUS_MULTIPROC_DIR
set to a directory of the bridge's own (bridge/workers.py): prometheus_client then keeps each
worker's values in memory-mapped files there, and `render` aggregates all of them, so
`GET /metrics` on any worker describes the whole bridge (counters and histograms summed over
every worker that ever ran, gauges by their `multiprocess_mode` over the live workers).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MAX_UNPRICED_SERIES = 200
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The bridge's Prometheus counters, gauges and histograms, on a registry of its own."""

    def __init__(self) -> None:
        # Set only in the workers of a multi-worker bridge, before prometheus_client was imported.
        self.multiproc_dir = os.environ.get(MULTIPROC_ENV) or None
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
        self.write_conflicts = Counter(
            "agent_spend_write_conflicts",
            "Batches PostgreSQL aborted to break a deadlock with another writer, then retried",
            registry=r,
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
        self.queue_depth = Gauge(
            "agent_spend_queue_rows", "Rows waiting to be written", registry=r, multiprocess_mode="livesum"
        )
        self.inflight_bytes = Gauge(
            "agent_spend_inflight_bytes",
            "Decoded request bytes reserved in the in-flight memory budget (--max-inflight-mib)",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.database_up = Gauge(
            "agent_spend_database_up",
            "1 when the last write or probe succeeded (with workers: of every live worker)",
            registry=r,
            multiprocess_mode="livemin",
        )
        self.workers = Gauge(
            "agent_spend_workers",
            "Receiver processes serving (serve --workers); 1 for a single-process bridge",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.worker_restarts = Gauge(
            "agent_spend_worker_restarts",
            "Workers the supervisor restarted after a crash since the bridge started",
            registry=r,
            multiprocess_mode="max",
        )
        self.workers.set(1)

    def count_unpriced(self, model: str, calls: int = 1) -> None:
        """One series per unknown model, but bounded: junk model names must not grow memory."""
        if model not in self._unpriced_models and len(self._unpriced_models) >= MAX_UNPRICED_SERIES:
            model = "(other)"
        self._unpriced_models.add(model)
        self.unpriced.labels(model).inc(calls)

    def render(self) -> bytes:
        if self.multiproc_dir is None:
            return generate_latest(self.registry)
        aggregated = CollectorRegistry()
        MultiProcessCollector(aggregated, path=self.multiproc_dir)  # type: ignore[no-untyped-call]
        return generate_latest(aggregated)
