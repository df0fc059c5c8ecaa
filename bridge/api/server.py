"""Serving the API: a cheroot WSGI server and a small pool of read-only database connections.

cheroot is the HTTP server the OTLP receiver already uses (bounded threads, socket timeouts).
Connections: psycopg_pool is not a dependency, and the API needs very little of one, so
`ConnectionPool` keeps up to `size` idle connections (the handler thread count) in a
lock-protected list and opens one when none is idle; a connection that saw an error, or is
not idle after a request, is closed rather than reused. A report's queries take milliseconds,
so reusing connections saves the connect and authentication round trips that would
otherwise dominate. Every connection runs with `default_transaction_read_only = on` and a
`statement_timeout`, in autocommit (each query its own read-only transaction).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from cheroot import wsgi

from bridge import config
from bridge.api.app import ApiApp, Clock

log = logging.getLogger(__name__)


class ConnectionPool:
    """Idle read-only connections reused across requests, at most `size` kept."""

    def __init__(self, url: str, size: int, statement_timeout_s: float) -> None:
        self._url = url
        self._size = size
        self._options = (
            f"-c default_transaction_read_only=on -c statement_timeout={int(statement_timeout_s * 1000)}"
        )
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()

    def _open(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self._url, autocommit=True, application_name="agent-spend-api", options=self._options
        )

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """An idle connection (or a new one), returned to the pool if it is still healthy."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class ApiServer:
    """The API listener: cheroot serving ApiApp on a background thread until stop()."""

    def __init__(
        self,
        database_url: str,
        tokens: Sequence[str],
        host: str = config.API_HOST,
        port: int = config.API_PORT,
        threads: int = config.API_THREADS,
        statement_timeout_s: float = config.API_STATEMENT_TIMEOUT_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        self.pool = ConnectionPool(database_url, threads, statement_timeout_s)
        self.app = ApiApp(tokens, self.pool.connection, clock)
        self._server = wsgi.Server(
            (host, port),
            self.app,
            numthreads=threads,
            server_name="agent-spend-api",
            timeout=config.API_IDLE_SECONDS,
            shutdown_timeout=5,
        )
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the real port when 0 was asked for)."""
        host, port = self._server.bind_addr[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Bind and listen (raises OSError when the port is taken), then serve on a thread."""
        self._server.prepare()
        self._thread = threading.Thread(target=self._server.serve, name="agent-spend-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, finish the requests in flight, close the connections."""
        self._server.stop()
        if self._thread is not None:
            self._thread.join(10)
        self.pool.close()
