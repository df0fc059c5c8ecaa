"""The bridge's data path in-process: Ingestor + BatchWriter on a test database, no transport."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bridge.ingest import Ingestor
from bridge.metrics import Metrics
from bridge.pricing.pricer import Pricer
from bridge.store.writer import BatchWriter


@contextmanager
def ingestor(database_url: str, **writer_options: Any) -> Iterator[Ingestor]:
    """An Ingestor whose writer thread runs until the block ends (everything accepted is committed)."""
    metrics = Metrics()
    writer = BatchWriter(database_url, metrics, **writer_options)
    writer.start()
    try:
        yield Ingestor(writer, Pricer(), metrics)
    finally:
        writer.stop()
