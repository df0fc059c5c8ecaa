"""Claiming a listening port for a bridge of several worker processes (`serve --workers N`).

The workers of one bridge each bind the gRPC and HTTP ports with SO_REUSEPORT, so the kernel
spreads connections over them. Linux lets any process of the same user join such a group, so
a second bridge started on the same ports would silently share them. Before any worker starts,
the supervisor claims each port with a `PortClaim`:

1. an exclusive probe: bind the port *without* SO_REUSEPORT (SO_REUSEADDR on, like every
   listener). It fails while anything listens there: a single-process bridge, the workers of
   another bridge, any other program. Port 0 resolves to a free port here.
2. a lock held for the bridge's life: an abstract Unix socket named after the address
   (``\\0agent-spend/listen/HOST:PORT``). Binding a name is exclusive, it lives in the network
   namespace (the scope of TCP ports) and the kernel releases it when the supervisor dies, so
   no stale lock file is ever left. It closes the gap between two bridges probing at the same
   instant, and it refuses a second multi-worker bridge even while the first one's workers
   (re)bind.

A single-process bridge binds without SO_REUSEPORT and so cannot join a group either.
"""

from __future__ import annotations

import errno
import socket
import sys

LOCK_PREFIX = "agent-spend/listen/"


class PortInUse(OSError):
    """The port is taken (by another bridge or another program); the message says which."""


def reuse_port_supported() -> bool:
    """SO_REUSEPORT with load balancing between processes: Linux only."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    infos = socket.getaddrinfo(host or None, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    return infos[0][0]


class PortClaim:
    """One port held for one bridge: probed free, resolved (port 0) and locked until `release`."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        family = _family(host)
        probe = socket.socket(family, socket.SOCK_STREAM)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
            probe.listen(1)  # a listening socket is what conflicts with another listener
            self.port: int = probe.getsockname()[1]
            self._lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self._lock.bind(f"\0{LOCK_PREFIX}{host}:{self.port}")
            except OSError as exc:
                self._lock.close()
                if exc.errno == errno.EADDRINUSE:
                    raise PortInUse(errno.EADDRINUSE, "another bridge with workers holds this port") from None
                raise
        except OSError as exc:
            if isinstance(exc, PortInUse):
                raise
            raise PortInUse(exc.errno or errno.EADDRINUSE, exc.strerror or str(exc)) from None
        finally:
            # Released before the workers bind; the lock keeps other bridges out meanwhile.
            probe.close()

    def release(self) -> None:
        self._lock.close()
