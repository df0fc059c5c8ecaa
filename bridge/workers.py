"""`serve --workers N`: a supervisor and N bridge processes sharing the gRPC and HTTP ports.

The supervisor binds nothing that serves. It checks the settings every worker would refuse
(tokens, TLS, price overrides), claims both ports for this bridge (bridge/receive/listen.py:
probed free without SO_REUSEPORT, port 0 resolved, then locked for the bridge's life so a
second bridge fails loudly), and starts N workers: `python -m bridge.workers`, each one a
complete single-process bridge (`bridge.server.serve`: both listeners with SO_REUSEPORT, map,
price, its own writer thread and database connection). The kernel spreads connections over
the workers; each worker acknowledges an export only after its own writer committed it, so
ack-after-commit is exactly the single-process path, and the database's `call_keys` keeps
exactly-once across the workers as it does across separate bridges.

A worker that dies is restarted (at most WORKER_RESTART_LIMIT times in
WORKER_RESTART_WINDOW_SECONDS, then the bridge stops and exits 1). SIGTERM/SIGINT: every
worker is told to drain (stop accepting, finish and commit in-flight exports) and the
supervisor exits 0 once all of them exited 0. Workers get SIGTERM if the supervisor dies.

`/metrics` is aggregated over the workers through prometheus_client's multiprocess mode
(bridge/metrics.py); `/healthz` and `/readyz` answer for the worker that got the connection.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pickle
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

from bridge import config
from bridge.receive.listen import PortClaim, reuse_port_supported

if TYPE_CHECKING:
    from bridge.server import ServeOptions

log = logging.getLogger(__name__)

METRICS_PREFIX = "agent-spend-metrics-"  # + supervisor pid + "-" + random, in the temp directory
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # = bridge.metrics.MULTIPROC_ENV (not imported here)
_PR_SET_PDEATHSIG = 1


def default_workers() -> int:
    """One worker per core this process may run on where workers can share a port (Linux), else 1.

    The cores of the CPU affinity mask (a container's cpuset), not a CPU quota: containers
    limited by quota should pass --workers.
    """
    if not reuse_port_supported():
        return 1
    return len(os.sched_getaffinity(0)) or os.cpu_count() or 1


class WorkerError(RuntimeError):
    """A worker could not start, or workers kept crashing; the message says why."""


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    started: float
    ready: bool = False


class Supervisor:
    """Starts, watches, restarts and drains the worker processes of one bridge."""

    def __init__(self, options: ServeOptions, workers: int, metrics_dir: str, log_level: str) -> None:
        self.options = options  # a ServeOptions with the resolved ports and reuse_port set
        self.count = workers
        self.metrics_dir = metrics_dir
        self.log_level = log_level
        self.restarts = 0
        self._recent: list[float] = []

    def _spawn(self, index: int) -> _Worker:
        env = {**os.environ, MULTIPROC_ENV: self.metrics_dir}
        process = subprocess.Popen(
            [sys.executable, "-m", "bridge.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert process.stdin is not None
        payload = (self.options, index, self.restarts, self.log_level, os.getpid())
        process.stdin.write(pickle.dumps(payload))
        process.stdin.close()
        return _Worker(index, process, time.monotonic())

    def _await_ready(self, worker: _Worker, stop: threading.Event) -> None:
        """Until the worker reports its listeners ready; WorkerError if it fails or times out."""
        stdout = worker.process.stdout
        assert stdout is not None
        deadline = time.monotonic() + config.WORKER_START_TIMEOUT_SECONDS
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    limit = config.WORKER_START_TIMEOUT_SECONDS
                    raise WorkerError(f"worker {worker.index} did not start within {limit:.0f}s")
                if stop.is_set():
                    raise WorkerError("stopped while workers were starting")
                if selector.select(min(remaining, 0.2)):
                    line = stdout.readline().decode(errors="replace").strip()
                    break
        kind, _, detail = line.partition(" ")
        if kind == "ready":
            worker.ready = True
            return
        if kind == "error":
            raise WorkerError(detail)
        code = worker.process.wait(10)
        raise WorkerError(f"worker {worker.index} exited with code {code} before it was ready")

    def _terminate(self, workers: list[_Worker], *, deadline: float) -> bool:
        """SIGTERM every live worker and wait for all; True when every one exited 0."""
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        clean = True
        for worker in workers:
            try:
                code = worker.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error(
                    "worker %d (pid %d) did not drain in time; killing it", worker.index, worker.process.pid
                )
                worker.process.kill()
                code = worker.process.wait()
            # A worker stopped while it was still starting acknowledged nothing: not a failure.
            if code != 0 and not (code == -signal.SIGTERM and not worker.ready):
                log.error("worker %d (pid %d) exited with code %s", worker.index, worker.process.pid, code)
                clean = False
            self._forget(worker)
        return clean

    def _forget(self, worker: _Worker) -> None:
        """Drop a dead worker's live gauges from the aggregated /metrics; close its pipe."""
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.process.pid, self.metrics_dir)  # type: ignore[no-untyped-call]
        if worker.process.stdout is not None:
            worker.process.stdout.close()

    def _may_restart(self) -> bool:
        now = time.monotonic()
        self._recent = [t for t in self._recent if now - t < config.WORKER_RESTART_WINDOW_SECONDS]
        if len(self._recent) >= config.WORKER_RESTART_LIMIT:
            return False
        self._recent.append(now)
        return True

    def run(self, stop: threading.Event, on_ready: Callable[[], None]) -> int:
        workers: list[_Worker] = []
        try:
            for index in range(self.count):
                workers.append(self._spawn(index))
            for worker in workers:
                self._await_ready(worker, stop)
        except BaseException:
            self._terminate(workers, deadline=time.monotonic() + config.WORKER_DRAIN_SECONDS)
            raise
        on_ready()
        failed = False
        while not stop.wait(config.WORKER_POLL_SECONDS):
            for i, worker in enumerate(workers):
                code = worker.process.poll()
                if code is None:
                    continue
                self._forget(worker)
                log.error("worker %d (pid %d) exited with code %s", worker.index, worker.process.pid, code)
                if not self._may_restart():
                    log.error(
                        "%d worker restarts within %.0fs: stopping the bridge",
                        config.WORKER_RESTART_LIMIT,
                        config.WORKER_RESTART_WINDOW_SECONDS,
                    )
                    failed = True
                    break
                self.restarts += 1
                workers[i] = replacement = self._spawn(worker.index)
                try:
                    self._await_ready(replacement, stop)
                except WorkerError as exc:
                    log.error("worker %d could not be restarted: %s", worker.index, exc)
                    continue  # polled again next round: counts against the restart limit
                log.warning("worker %d restarted (pid %d)", worker.index, replacement.process.pid)
            if failed:
                break
        log.info("shutting down: %d workers draining", len(workers))
        clean = self._terminate(workers, deadline=time.monotonic() + config.WORKER_DRAIN_SECONDS)
        return 0 if clean and not failed else 1


def _sweep_metrics_dirs() -> None:
    """Remove the metrics directories of supervisors that died without cleaning up (SIGKILL)."""
    for path in Path(tempfile.gettempdir()).glob(f"{METRICS_PREFIX}*-*"):
        pid = path.name[len(METRICS_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        shutil.rmtree(path, ignore_errors=True)


def _check_settings(options: ServeOptions) -> None:
    """What every worker would refuse at start (tokens, TLS, price overrides), refused once here."""
    from bridge.pricing.overrides import load_overrides
    from bridge.receive.auth import IngestAuth, load_tokens_file
    from bridge.receive.tls import server_ssl_context

    bound = load_tokens_file(options.ingest_tokens_file) if options.ingest_tokens_file else ()
    IngestAuth(options.ingest_tokens, bound, metrics_token=options.metrics_token)
    if options.tls:
        server_ssl_context(options.tls)
    if options.price_overrides:
        load_overrides(options.price_overrides)


def supervise(
    options: ServeOptions,
    out: TextIO = sys.stdout,
    stop_event: threading.Event | None = None,
    log_level: str = "INFO",
) -> int:
    """Run `options.workers` bridge processes on shared ports until SIGTERM/SIGINT; the exit code.

    Prints grpc=HOST:PORT and http=HOST:PORT once every worker accepts, like `serve`. Raises
    ServeError when a port is taken or a worker cannot start (the message says which).
    """
    from bridge.server import ServeError

    if not reuse_port_supported():
        raise ServeError("--workers above 1 needs Linux (SO_REUSEPORT); use --workers 1")
    _check_settings(options)
    claims: list[PortClaim] = []
    metrics_dir: str | None = None
    try:
        for name, port in (("gRPC", options.grpc_port), ("HTTP", options.http_port)):
            try:
                claims.append(PortClaim(options.host, port))
            except OSError as exc:
                raise ServeError(
                    f"cannot listen for OTLP/{name} on {options.host}:{port}: {exc.strerror or exc}"
                ) from None
        grpc_port, http_port = claims[0].port, claims[1].port
        worker_options = replace(
            options, grpc_port=grpc_port, http_port=http_port, workers=1, reuse_port=True
        )
        _sweep_metrics_dirs()
        metrics_dir = tempfile.mkdtemp(prefix=f"{METRICS_PREFIX}{os.getpid()}-")
        stop = stop_event or threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())

        def ready() -> None:
            print(f"grpc={options.host}:{grpc_port}", file=out)
            print(f"http={options.host}:{http_port}", file=out, flush=True)
            log.info("%d workers serving", options.workers)

        supervisor = Supervisor(worker_options, options.workers, metrics_dir, log_level)
        try:
            return supervisor.run(stop, ready)
        except WorkerError as exc:
            raise ServeError(str(exc)) from None
    finally:
        for claim in claims:
            claim.release()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


# -- the worker process -------------------------------------------------------------------------
def _die_with_parent(parent: int) -> None:
    """SIGTERM this worker (a drain) when the supervisor dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the supervisor died before prctl
        os.kill(os.getpid(), signal.SIGTERM)


def _report(channel: IO[str], line: str) -> None:
    with contextlib.suppress(OSError):
        channel.write(line + "\n")
        channel.flush()


def worker_main() -> int:
    """One worker: read its settings from stdin, serve, report `ready G H` / `error MSG` on stdout."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # before anything slow: a drain, not a kill
        signal.signal(sig, lambda *_: stop.set())
    options, index, restarts, log_level, parent = pickle.load(sys.stdin.buffer)
    logging.basicConfig(
        level=str(log_level).upper(),
        stream=sys.stderr,
        format=f"%(asctime)s %(levelname)s worker-{index} %(name)s: %(message)s",
    )
    _die_with_parent(parent)
    channel = sys.stdout
    sys.stdout = sys.stderr  # nothing but the protocol goes to the supervisor
    # Imported only now: PROMETHEUS_MULTIPROC_DIR is in the environment before prometheus_client.
    from bridge.metrics import Metrics
    from bridge.server import ServeError, serve

    metrics = Metrics()
    metrics.worker_restarts.set(restarts)
    try:
        return serve(
            options,
            stop_event=stop,
            on_ready=lambda g, h: _report(channel, f"ready {g} {h}"),
            metrics=metrics,
        )
    except ServeError as exc:
        _report(channel, f"error {exc}")
        return 1
    except Exception as exc:
        log.exception("worker %d failed", index)
        _report(channel, f"error worker {index} failed: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(worker_main())
