"""Loaded by tests/faketime_check.sh (through PYTHONPATH) in pytest and every Python it starts.

Under libfaketime 0.9.10 with FAKETIME_DONT_FAKE_MONOTONIC=1, `time.sleep` fails with EINVAL:
CPython sleeps with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ...), and libfaketime
shifts that absolute deadline by the fake offset of the realtime clock. A relative select()
timeout is left alone, so sleeping through select() behaves like the real thing.
"""

from __future__ import annotations

import os
import select
import time

if "faketime" in os.environ.get("LD_PRELOAD", ""):
    _monotonic = time.monotonic

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = _monotonic() + seconds
        while (remaining := deadline - _monotonic()) > 0:
            select.select([], [], [], remaining)

    time.sleep = _sleep
