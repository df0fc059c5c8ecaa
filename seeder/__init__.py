"""Synthetic agent telemetry that makes the dashboards look like a real organisation.

The seeder speaks only OTLP to the bridge, exactly like a harness would, so seeding a demo
also exercises the real ingest path: mapping, pricing, deduplication and ingest accounting.
"""

from __future__ import annotations

from datetime import datetime

from bridge import config
from seeder.generate import SyntheticTrace, generate
from seeder.otlp import to_otlp_json, to_requests
from seeder.send import Protocol, SeedError, SendResult, send

__all__ = [
    "Protocol",
    "SeedError",
    "SendResult",
    "SyntheticTrace",
    "generate",
    "run_seed",
    "send",
    "to_otlp_json",
    "to_requests",
]


def run_seed(
    endpoint: str,
    protocol: Protocol = "grpc",
    days: int = config.SEED_DAYS,
    users: int = config.SEED_USERS,
    seed: int = config.SEED_RANDOM_SEED,
    now: datetime | None = None,
    timeout: float = config.SEED_TIMEOUT_SECONDS,
) -> SendResult:
    """Generate, encode and send one synthetic org; `result.model_calls` is the row count to expect."""
    return send(
        to_requests(generate(days=days, users=users, seed=seed, now=now)), endpoint, protocol, timeout
    )
