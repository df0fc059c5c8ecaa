"""The `users` → team directory, cached in the bridge so pricing sees the team too.

Operator price rules can target a team; a span that carries no `agent.user.team` gets its
team from `users`, and that must happen before pricing, not only at insert time. The map
is small (one row per developer), reloaded at most every `refresh_seconds`; the insert
still falls back to a join on `users`, so a failed reload never loses the team.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg

from bridge import config

log = logging.getLogger(__name__)


class TeamDirectory:
    """The user→team mapping from the database, re-read at most every `refresh_seconds`."""

    def __init__(self, database_url: str, refresh_seconds: float = config.TEAMS_REFRESH_SECONDS) -> None:
        self.database_url = database_url
        self.refresh_seconds = refresh_seconds
        self._teams: dict[str, str] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def team_of(self, user_id: str | None) -> str | None:
        if not user_id:
            return None
        self._refresh_if_stale()
        return self._teams.get(user_id)

    def _refresh_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at < self.refresh_seconds:
            return
        if not self._lock.acquire(blocking=False):
            return  # another request is reloading; use the current map meanwhile
        try:
            with psycopg.connect(self.database_url, connect_timeout=3) as conn:
                rows = conn.execute("SELECT user_id, team FROM users WHERE team IS NOT NULL").fetchall()
            self._teams = dict(rows)
        except psycopg.Error as exc:
            log.warning("could not load the users → team map: %s", exc)
        finally:
            self._loaded_at = time.monotonic()
            self._lock.release()
