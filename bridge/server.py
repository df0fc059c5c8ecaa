"""Wire the bridge together, run it until SIGTERM/SIGINT, then drain and exit cleanly.

`serve` is one bridge process: both listeners, the data path and one writer thread. With
`serve --workers N` (N > 1) bridge/workers.py runs N of these processes behind a supervisor;
each of them is exactly this, with `reuse_port` set so they share the ports.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import psycopg

from bridge import config
from bridge.ingest import Ingestor
from bridge.metrics import Metrics
from bridge.pricing.pricer import Pricer
from bridge.receive.auth import IngestAuth, load_tokens_file
from bridge.receive.export import InflightBudget
from bridge.receive.grpc_server import build_grpc_server
from bridge.receive.http_server import HTTPLimits, build_http_server
from bridge.receive.tls import TLSSettings, grpc_server_credentials, server_ssl_context
from bridge.store.migrate import outdated_objects, pending
from bridge.store.teams import TeamDirectory
from bridge.store.writer import BatchWriter

log = logging.getLogger(__name__)


class ServeError(RuntimeError):
    """The bridge cannot start (a port in use, a bad address); the message says which."""


@dataclass
class ServeOptions:
    """Everything `serve` needs to run a bridge; defaults come from bridge.config."""

    database_url: str
    host: str = config.HOST
    grpc_port: int = config.GRPC_PORT
    http_port: int = config.HTTP_PORT
    max_body_bytes: int = config.MAX_BODY_BYTES
    max_queue_rows: int = config.MAX_QUEUE_ROWS
    max_batch_rows: int = config.MAX_BATCH_ROWS
    write_timeout: float = config.WRITE_TIMEOUT_SECONDS
    price_overrides: Path | None = None
    ingest_tokens: tuple[str, ...] = ()
    # Bound tokens (bridge/receive/auth.py load_tokens_file), the /metrics token, TLS.
    ingest_tokens_file: Path | None = None
    metrics_token: str | None = None
    tls: TLSSettings | None = None
    # The OTLP/HTTP listener's bounds and the in-flight memory budget of both transports.
    http_threads: int = config.HTTP_THREADS
    http_max_connections: int = config.HTTP_MAX_CONNECTIONS
    http_body_timeout: float = config.HTTP_BODY_TIMEOUT_SECONDS
    http_idle_seconds: int = config.HTTP_IDLE_SECONDS
    max_inflight_bytes: int = config.MAX_INFLIGHT_MIB * config.MIB
    # Receiver processes (bridge/workers.py); 1 is the single-process bridge `serve` runs itself.
    workers: int = 1
    # Set by the supervisor for its workers only: bind both ports with SO_REUSEPORT.
    reuse_port: bool = False


def readiness_check(database_url: str) -> tuple[bool, str]:
    try:
        with psycopg.connect(database_url, connect_timeout=3) as conn:
            missing = pending(conn)
            outdated = outdated_objects(conn)
    except psycopg.Error as exc:
        return False, f"database unreachable: {exc}".strip()
    if missing:
        return False, "migrations pending: " + ", ".join(m.version for m in missing)
    if outdated:
        return False, "schema objects out of date: " + ", ".join(o.name for o in outdated)
    return True, "ready"


def serve(
    options: ServeOptions,
    out: TextIO = sys.stdout,
    stop_event: threading.Event | None = None,
    on_ready: Callable[[int, int], None] | None = None,
    metrics: Metrics | None = None,
) -> int:
    """Run one bridge process until `stop_event` (or SIGTERM/SIGINT), drain, return the exit code.

    Prints grpc=HOST:PORT and http=HOST:PORT to `out` once both listeners accept; a worker
    passes `on_ready` instead, which gets the two ports.
    """
    gc.set_threshold(config.GC_YOUNG_OBJECTS, *gc.get_threshold()[1:])  # why: config.GC_YOUNG_OBJECTS
    # Token and TLS settings are checked before anything starts (TokenConfigError, TLSConfigError).
    bound = load_tokens_file(options.ingest_tokens_file) if options.ingest_tokens_file else ()
    auth = IngestAuth(options.ingest_tokens, bound, metrics_token=options.metrics_token)
    tls_context = server_ssl_context(options.tls) if options.tls else None
    grpc_credentials = grpc_server_credentials(options.tls) if options.tls else None
    metrics = metrics or Metrics()
    writer = BatchWriter(
        options.database_url,
        metrics,
        max_queue_rows=options.max_queue_rows,
        max_batch_rows=options.max_batch_rows,
    )
    ingestor = Ingestor(
        writer,
        Pricer(options.price_overrides),
        metrics,
        teams=TeamDirectory(options.database_url),
        write_timeout=options.write_timeout,
    )
    writer.start()
    # One memory budget for both transports; exports beyond the queue are ingested in chunks.
    budget = InflightBudget(options.max_inflight_bytes, metrics.inflight_bytes)
    chunk_records = max(1, min(config.INGEST_CHUNK_RECORDS, options.max_queue_rows))
    try:
        grpc_server, grpc_port = build_grpc_server(
            ingestor,
            metrics,
            options.host,
            options.grpc_port,
            max_message_bytes=options.max_body_bytes,
            auth=auth,
            credentials=grpc_credentials,
            budget=budget,
            chunk_records=chunk_records,
            reuse_port=options.reuse_port,
        )
    except OSError as exc:
        writer.stop()
        raise ServeError(
            f"cannot listen for OTLP/gRPC on {options.host}:{options.grpc_port}: {exc}"
        ) from None
    try:
        http_server = build_http_server(
            ingestor,
            metrics,
            options.host,
            options.http_port,
            readiness=lambda: readiness_check(options.database_url),
            max_body_bytes=options.max_body_bytes,
            auth=auth,
            budget=budget,
            limits=HTTPLimits(
                max_body_bytes=options.max_body_bytes,
                threads=options.http_threads,
                max_connections=options.http_max_connections,
                idle_seconds=options.http_idle_seconds,
                body_timeout=options.http_body_timeout,
                chunk_records=chunk_records,
            ),
            ssl_context=tls_context,
            tls_files=(str(options.tls.cert_file), str(options.tls.key_file)) if options.tls else None,
            reuse_port=options.reuse_port,
        )
    except OSError as exc:
        writer.stop()
        raise ServeError(
            f"cannot listen for OTLP/HTTP on {options.host}:{options.http_port}: {exc.strerror or exc}"
        ) from None
    grpc_server.start()
    http_thread = threading.Thread(target=http_server.serve_forever, name="otlp-http", daemon=True)
    http_thread.start()

    stop = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    if on_ready is not None:
        on_ready(grpc_port, http_server.server_address[1])
    else:
        print(f"grpc={options.host}:{grpc_port}", file=out)
        print(f"http={options.host}:{http_server.server_address[1]}", file=out, flush=True)
    if not writer.database_up:
        log.warning("database not reachable yet; answering 503 until it is")
    stop.wait()

    log.info("shutting down: finishing in-flight requests")
    http_server.shutdown()  # stop accepting; in-flight handlers still hold their futures
    grpc_server.stop(grace=options.write_timeout).wait()
    http_server.wait_idle(options.write_timeout)
    http_server.server_close()
    writer.stop(timeout=options.write_timeout)
    return 0
