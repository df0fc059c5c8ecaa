"""What the writer does when the database refuses a merged batch: find the rows it refuses,
commit everything else, and hand each refused row back to its own sender.

Edge validation (bridge/mapping/validate.py) keeps values the database would refuse out of
the queue. If the database still refuses a batch (a data, integrity or limit error: SQLSTATE
classes 22, 23, 54, or text the client cannot encode), the writer rolls back and calls
`isolate`: each request's part alone, and a part that still fails bisected down to the single
rows the database refuses. So one sender's bad row never fails another sender's request, and
the refused rows are reported in that sender's partial_success. Only connection-level errors
mean the database is down; a refused row never does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg

from bridge.store.call_statements import SQLSTATE_REFUSED, Refusal, refusal_reason, refused_example
from bridge.store.transaction import Part

log = logging.getLogger(__name__)

Write = Callable[[list[Part]], set[str]]


def is_refused(conn: psycopg.Connection[Any], exc: Exception) -> bool:
    """Did the database (or the client encoder) refuse the data, on a healthy connection?"""
    if conn.broken or conn.closed:
        return False
    if isinstance(exc, UnicodeError):  # text the client cannot encode (a lone surrogate)
        return True
    if not isinstance(exc, psycopg.Error):
        return False
    if isinstance(exc, (psycopg.DataError, psycopg.IntegrityError)):
        return True  # also raised by psycopg itself, with no SQLSTATE (NUL in text)
    return (exc.sqlstate or "")[:2] in SQLSTATE_REFUSED


def isolate(
    conn: psycopg.Connection[Any], write: Write, parts: list[Part], refused: dict[int, list[Refusal]]
) -> set[str]:
    """After a refused batch: each part alone; a refused part is bisected. `refused[i]` gets
    part i's refused rows (reason, example); returns the keys inserted."""
    inserted: set[str] = set()
    for i, part in enumerate(parts):
        if len(parts) > 1:
            try:
                inserted |= write([part])
                continue
            except Exception as exc:
                if not is_refused(conn, exc):
                    raise
        bad = refused.setdefault(i, [])
        inserted |= bisect(conn, write, part.signal, part.rows, bad)
        try:  # its rejections, the refused rows (counted like any rejection), its span contexts
            write([Part(part.signal, [], part.rejections + bad, part.contexts)])
        except Exception as exc:
            if not is_refused(conn, exc):
                raise
            log.error("could not record %d rejections: %s", len(part.rejections) + len(bad), exc)
    return inserted


def bisect(
    conn: psycopg.Connection[Any], write: Write, signal: str, rows: list[tuple[Any, ...]], bad: list[Refusal]
) -> set[str]:
    """Write `rows`, halving on refusal down to the single rows the database refuses."""
    try:
        return write([Part(signal, rows, [])])
    except Exception as exc:
        if not is_refused(conn, exc):
            raise
        if len(rows) == 1:
            reason = refusal_reason(exc)
            log.warning("refused row %r: %s", str(rows[0][0])[:100], reason)
            bad.append((reason, refused_example(rows[0])))
            return set()
    mid = len(rows) // 2
    return bisect(conn, write, signal, rows[:mid], bad) | bisect(conn, write, signal, rows[mid:], bad)
