"""The writer's statements for model calls, the pure helpers that shape their input, and the
two ways a batch's rows reach agent_spend_logs on the writer's cursor (`stage_calls` then
INSERT_FROM_STAGING, or `insert_direct`).

One write transaction (transaction.py, `write_once`) runs them in the order it documents; trace context
has its own statements (trace_context.py). Kept apart from the writer thread so the SQL and
the rules it encodes (first copy wins, the team fallback, which later copy may complete a
reported cost, how a refusal is named) read in one place.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bridge import config
from bridge.model import safe_example, safe_reason
from bridge.store.rows import COLUMNS, COST_COLUMNS, NCOLS, STAGING_EXTRAS, TEAM, UNKNOWN, copy_row

Refusal = tuple[str, dict[str, Any]]  # (reason, example), as rejections are recorded

_COLS = ", ".join(COLUMNS)
_SELECT = ", ".join("COALESCE(s.team, u.team, 'unknown')" if c == "team" else f"s.{c}" for c in COLUMNS)
# `ord` is the row's position in the batch: the first copy of a call to arrive is the one stored.
STAGED_COLUMNS = ", ".join((*COLUMNS, "ord", *STAGING_EXTRAS))
CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS staging_calls AS"
    f" SELECT {_COLS}, 0::bigint AS ord, NULL::text AS parent_span_id, NULL::text AS sender"
    " FROM agent_spend_logs WITH NO DATA"
)
_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
PARENT = NCOLS + STAGING_EXTRAS.index("parent_span_id")
_REPORTED = COLUMNS.index("reported_cost_usd")
TS, USER_ID = (COLUMNS.index(c) for c in ("ts", "user_id"))


def may_complete(rows: list[tuple[Any, ...]], inserted: set[str]) -> bool:
    """Does a copy that did not make its row carry a reported cost (COMPLETE_FROM_STAGING)?"""
    made: set[str] = set()
    for row in rows:
        key = row[0]
        if key in inserted and key not in made:
            made.add(key)  # the first copy of a new call is the row itself
        elif row[_REPORTED] is not None:
            return True
    return False


def _completes(old: str, new: str, new_team: str) -> str:
    """SQL: may the copy `new` complete the missing reported cost of the stored row `old`?

    Only when it is the same call (same source, user, team, model and token buckets), the
    stored row has no reported cost yet, and the reported cost is plausible: at most
    REPORTED_COST_MAX_FACTOR x the list cost + REPORTED_COST_SLACK_USD, or below
    REPORTED_COST_UNPRICED_MAX_USD when the model has no list price. Anything else (another
    sender's copy with the same ids, other tokens, an absurd cost) leaves the row as it is.
    """
    same_tokens = " AND ".join(f"{new}.{c} = {old}.{c}" for c in _TOKENS)
    list_cost = f"COALESCE({old}.list_cost_usd, {new}.list_cost_usd)"
    return f"""{old}.reported_cost_usd IS NULL AND {new}.reported_cost_usd IS NOT NULL
        AND {new}.source = {old}.source AND {new}.user_id = {old}.user_id
        AND {new_team} = {old}.team AND {new}.model = {old}.model AND {same_tokens}
        AND {new}.reported_cost_usd <= CASE WHEN {list_cost} IS NULL
            THEN {config.REPORTED_COST_UNPRICED_MAX_USD}
            ELSE {list_cost} * {config.REPORTED_COST_MAX_FACTOR} + {config.REPORTED_COST_SLACK_USD} END"""


# agent_spend_logs is partitioned by ts (migration 0012), so the key of a call is claimed in
# call_keys, which holds every stored call's key and the ts of its row: only the calls whose
# key this statement claimed are inserted (the first copy to arrive, by `ord`), so two
# copies with different timestamps (on either side of a partition boundary) are one row, and
# concurrent writers serialise on the key. The trigger on agent_spend_logs then finds the
# keys already claimed.
INSERT_FROM_STAGING = f"""
    WITH firsts AS MATERIALIZED (
        SELECT DISTINCT ON (dedup_key) * FROM staging_calls ORDER BY dedup_key, ord
    ), claimed AS (
        INSERT INTO call_keys (dedup_key, ts)
        SELECT dedup_key, ts FROM firsts ORDER BY dedup_key
        ON CONFLICT (dedup_key) DO NOTHING
        RETURNING dedup_key
    )
    INSERT INTO agent_spend_logs ({_COLS})
    SELECT {_SELECT}
    FROM firsts s JOIN claimed c ON c.dedup_key = s.dedup_key
    LEFT JOIN users u ON u.user_id = s.user_id
    ORDER BY s.dedup_key
    RETURNING dedup_key
"""
# The direct path (docs/scale.md "Direct writes"): when no row of the batch waits for its
# trace context, the writer keeps each key's first copy itself, claims the keys here (in key
# order, so concurrent writers lock them in one order) and COPYs only the claimed rows
# straight into agent_spend_logs: no staging table, no sort of whole rows, no join. Same
# first-copy-wins and same team rule (COALESCE(team, users.team, 'unknown')) as the staging
# path, whose result it must equal (tests/test_writer_paths.py).
# %b: binary parameters, because psycopg's text dumper for a list runs a regex over every element.
CLAIM_KEYS = """
    INSERT INTO call_keys (dedup_key, ts)
    SELECT k, t FROM unnest(%b::text[], %b::timestamptz[]) AS u (k, t) ORDER BY k
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING dedup_key
"""
USER_TEAMS = "SELECT user_id, team FROM users WHERE user_id = ANY (%s)"
COPY_CALLS = f"COPY agent_spend_logs ({_COLS}) FROM STDIN"
# Tells call_keys_trigger (schema/objects/25_partitions) that this transaction's inserted rows
# are exactly the keys it claimed at their ts, so the trigger need not check them again.
KEYS_CLAIMED = "SET LOCAL agent_spend.keys_claimed = on"
# The cost the emitter reported arrives on only one of a call's signals (Claude Code puts
# cost_usd on its log event, not on its span). Whichever arrives first makes the row; the
# first later copy of the *same call* that carries the reported cost completes it (and
# nothing else): its costs were computed from the same tokens with more knowledge. See
# _completes. The stored row is found at the ts call_keys holds, in one partition. Only run
# when a copy that did not make its row carries a reported cost.
COMPLETE_FROM_STAGING = f"""
    UPDATE agent_spend_logs t SET ({", ".join(COST_COLUMNS)}) = ({", ".join("s." + c for c in COST_COLUMNS)})
    FROM (
        SELECT DISTINCT ON (c.dedup_key) c.*, k.ts AS stored_ts
        FROM staging_calls c
        JOIN call_keys k ON k.dedup_key = c.dedup_key
        JOIN agent_spend_logs o ON o.dedup_key = c.dedup_key AND o.ts = k.ts
        LEFT JOIN users u ON u.user_id = c.user_id
        WHERE c.reported_cost_usd IS NOT NULL
          AND {_completes("o", "c", "COALESCE(c.team, u.team, 'unknown')")}
        ORDER BY c.dedup_key, c.ord
    ) s
    WHERE t.dedup_key = s.dedup_key AND t.ts = s.stored_ts AND t.reported_cost_usd IS NULL
"""
# Day partitions from a week back to a few days ahead (spend_partition_window()), so every
# call the bridge accepts (at most a day in the future) finds its partition; older late
# calls go to the default partition. Runs at connect and with every maintenance.
MAINTAIN_PARTITIONS = "SELECT spend_partition_maintain()"
# Into the writer's own shard (its backend pid modulo 16, migration 0013): writers do not
# queue behind each other's commits on one row; ingest_summary sums the shards.
UPSERT_STATS = """
    INSERT INTO ingest_stats
        (bucket, signal, shard, records_received, rows_written, duplicates_skipped, rejected)
    VALUES (%s, %s, pg_backend_pid() %% 16, %s, %s, %s, %s)
    ON CONFLICT (bucket, signal, shard) DO UPDATE SET
        records_received = ingest_stats.records_received + EXCLUDED.records_received,
        rows_written = ingest_stats.rows_written + EXCLUDED.rows_written,
        duplicates_skipped = ingest_stats.duplicates_skipped + EXCLUDED.duplicates_skipped,
        rejected = ingest_stats.rejected + EXCLUDED.rejected
"""
UPSERT_REJECTION = """
    INSERT INTO ingest_rejections (bucket, signal, reason, count, example)
    VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (bucket, signal, reason) DO UPDATE SET count = ingest_rejections.count + EXCLUDED.count
"""


SQLSTATE_REFUSED = ("22", "23", "54")  # data exception, integrity violation, program limit
_COLUMN = re.compile(r"column (\w+)")


def refusal_reason(exc: BaseException) -> str:
    """A refused row's reason, naming the column or index when PostgreSQL says which."""
    diag = getattr(exc, "diag", None)
    primary = (diag.message_primary if diag is not None else None) or str(exc).split("\n")[0]
    column = diag.column_name if diag is not None else None
    found = _COLUMN.search(diag.context or "") if diag is not None and column is None else None
    if found:
        column = found.group(1)
    state = getattr(exc, "sqlstate", None) or type(exc).__name__
    where = f"{column}: " if column else ""
    return safe_reason(f"database refused the record: {where}{primary} ({state})", 300)


def refused_example(row: tuple[Any, ...]) -> dict[str, Any]:
    return safe_example({"dedup_key": row[0], "source": row[5], "signal": row[6]})


def ingest_stats(
    bucket: datetime, parts: list[tuple[str, list[tuple[Any, ...]], list[Refusal]]], inserted: set[str]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """UPSERT_STATS and UPSERT_REJECTION parameters for one transaction's (signal, rows,
    rejections) parts: a row counts as written once, for the first part that holds its key;
    sorted by signal and reason, one lock order for every writer."""
    received: Counter[str] = Counter()
    written: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    reasons: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    seen: set[str] = set()
    for signal, rows, rejections in parts:
        received[signal] += len(rows)
        for row in rows:
            if row[0] in inserted and row[0] not in seen:
                written[signal] += 1
                seen.add(row[0])
        rejected[signal] += len(rejections)
        for reason, example in rejections:
            key = (signal, safe_reason(reason))
            count, first = reasons.get(key, (0, example))
            reasons[key] = (count + 1, first)
    stats = [
        (bucket, s, received[s], written[s], received[s] - written[s], rejected[s])
        for s in sorted(set(received) | set(rejected))
    ]
    rejections_out = [
        (bucket, s, reason, n, Jsonb(safe_example(ex)))
        for (s, reason), (n, ex) in sorted(reasons.items(), key=lambda item: item[0])
    ]
    return stats, rejections_out


def stage_calls(cur: psycopg.Cursor[Any], rows: list[tuple[Any, ...]]) -> None:
    """Every row of the batch, with its position, into the session's staging table."""
    cur.execute("TRUNCATE staging_calls")
    with cur.copy(f"COPY staging_calls ({STAGED_COLUMNS}) FROM STDIN") as copy:
        for ord_, row in enumerate(rows):
            copy.write_row((*copy_row(row), ord_, *row[NCOLS:]))


def insert_direct(cur: psycopg.Cursor[Any], rows: list[tuple[Any, ...]]) -> set[str]:
    """The first copy of each key, claimed in call_keys, COPYed into agent_spend_logs: the
    keys this transaction stored (the rest were stored before, by anyone)."""
    firsts: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        firsts.setdefault(row[0], row)
    keys = sorted(firsts)
    cur.execute(CLAIM_KEYS, (keys, [firsts[k][TS] for k in keys]))
    claimed = [key for (key,) in cur.fetchall()]
    if not claimed:
        return set()
    teamless = {firsts[k][USER_ID] for k in claimed if firsts[k][TEAM] is None}
    teams: dict[str, str] = {}
    if teamless:
        cur.execute(USER_TEAMS, (sorted(teamless),))
        teams = {user: team for user, team in cur.fetchall() if team is not None}
    cur.execute(KEYS_CLAIMED)
    with cur.copy(COPY_CALLS) as copy:
        for key in claimed:
            row = firsts[key]
            team = teams.get(
                row[USER_ID], UNKNOWN
            )  # the staging path's COALESCE(s.team, u.team, 'unknown') if row[TEAM] is None else None
            copy.write_row(copy_row(row, team))
    return set(claimed)
