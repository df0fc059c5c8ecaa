"""A loopback webhook receiver for alert tests: records every POST, answers from a script.

`WebhookReceiver()` listens on 127.0.0.1 (a free port) in a daemon thread. `script` is a
list of (status, headers) answers used in order, one per request; once it is used up every
request gets 200. Bodies are kept (parsed JSON) with their headers. It refuses to record
more than `max_requests` (answers 507 after), and stops itself after `lifetime` seconds
if a test forgets to, so it can never hang the suite.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """Loopback HTTP server recording JSON POSTs; answers scripted statuses first, then 200."""

    def __init__(
        self,
        script: list[tuple[int, dict[str, str]]] | None = None,
        *,
        max_requests: int = 1000,
        lifetime: float = 120.0,
    ) -> None:
        self.script = list(script or [])
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.answers: list[int] = []
        self.max_requests = max_requests
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    if len(receiver.answers) >= receiver.max_requests:
                        status, extra = 507, {}
                    else:
                        status, extra = receiver.script.pop(0) if receiver.script else (200, {})
                        receiver.answers.append(status)
                        if 200 <= status < 300:
                            receiver.requests.append(json.loads(body))
                            receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def ids(self) -> list[str]:
        """The `id` of every notice received (generic JSON payloads)."""
        return [str(r.get("id")) for r in self.requests]
