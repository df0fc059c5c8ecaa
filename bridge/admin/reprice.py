"""Recompute stored costs with today's price table and overrides (`agent-spend reprice`).

Historical costs never change silently: the per-model difference is printed first, a
dry run stops there, and applying needs a confirmation (or --yes). The scan streams rows
through a server-side cursor and COPYs the changed ones into a temporary table; applying
is one UPDATE ... FROM per batch of it, so a million rows cost a hundred statements, not a
million round trips. Each updated row records the new `price_version`, and a row that
changed between the preview and the update (say, a concurrent reprice) is left alone and
counted, so what is printed as applied is exactly what changed. The command's options and
confirmation prompt live in bridge/cli/reprice.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bridge import config
from bridge.store.rows import COST_COLUMNS

if TYPE_CHECKING:
    import psycopg

    from bridge.model import ModelCall
    from bridge.pricing.pricer import Costs, Pricer

BATCH_ROWS = config.REPRICE_BATCH_ROWS
ZERO = Decimal(0)
UNKNOWN = "unknown"
# The 1-hour share of cache writes: the bridge's own stamp, else the agent.* attribute.
CACHE_1H_KEYS = ("agent_spend.cache_write_1h_tokens", "agent.usage.cache_write_1h.input_tokens")
REPORTED_KEYS = (
    "agent.cost.input.usd",
    "agent.cost.output.usd",
    "agent.cost.cache_read.usd",
    "agent.cost.cache_write.usd",
    "agent.cost.estimation",
)
# The emitter's own words are in `attributes`; only the keys pricing needs leave the server.
_ATTRS = ", ".join(f"'{k}', attributes->'{k}'" for k in (*REPORTED_KEYS, *CACHE_1H_KEYS))
SCAN = f"""
    SELECT id, ts, model, request_model, provider, harness_name, user_id, team,
           input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
           input_cost_usd, output_cost_usd, cache_read_cost_usd, cache_write_cost_usd, total_cost_usd,
           cost_estimation, reported_cost_usd, list_cost_usd, cost_source, price_version,
           jsonb_strip_nulls(jsonb_build_object({_ATTRS}))
    FROM agent_spend_logs
    WHERE ts >= %s AND (%s::timestamptz IS NULL OR ts < %s)
"""
# Everything pricing decides except what the emitter said, which repricing never touches.
NEW_COLUMNS = tuple(c for c in COST_COLUMNS if c != "reported_cost_usd")
CREATE_CHANGES = """
    CREATE TEMP TABLE reprice_changes (
        seq BIGINT, id BIGINT, ts TIMESTAMPTZ, model TEXT,
        old_total NUMERIC, old_list NUMERIC, old_source TEXT, old_version TEXT,
        input_cost_usd NUMERIC, output_cost_usd NUMERIC, cache_read_cost_usd NUMERIC,
        cache_write_cost_usd NUMERIC, total_cost_usd NUMERIC, cost_estimation TEXT,
        list_cost_usd NUMERIC, cost_source TEXT, price_version TEXT
    )
"""
# The guard makes the update a compare-and-set on what the preview saw.
APPLY_BATCH = f"""
    WITH updated AS (
        UPDATE agent_spend_logs l SET {", ".join(f"{c} = c.{c}" for c in NEW_COLUMNS)}
        FROM reprice_changes c
        WHERE c.seq >= %s AND c.seq < %s AND l.id = c.id AND l.ts = c.ts
          AND l.total_cost_usd IS NOT DISTINCT FROM c.old_total
          AND l.list_cost_usd IS NOT DISTINCT FROM c.old_list
          AND l.cost_source = c.old_source
          AND l.price_version IS NOT DISTINCT FROM c.old_version
        RETURNING COALESCE(c.total_cost_usd, 0) - COALESCE(c.old_total, 0) AS diff
    )
    SELECT count(*), COALESCE(sum(diff), 0) FROM updated
"""


@dataclass(slots=True)
class ModelSummary:
    """One model's rows in a reprice preview: how many change, and the totals before and after."""

    rows: int = 0
    changed: int = 0
    old_total: Decimal = ZERO
    new_total: Decimal = ZERO

    @property
    def difference(self) -> Decimal:
        return self.new_total - self.old_total


@dataclass(slots=True)
class Preview:
    """What a reprice would change, per model, before anything is written."""

    models: dict[str, ModelSummary]
    changed: int

    @property
    def rows(self) -> int:
        return sum(m.rows for m in self.models.values())


def utc_bound(value: datetime) -> datetime:
    """Dates on the command line are UTC, like every timestamp in the table."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def rebuild_call(row: tuple[Any, ...]) -> ModelCall:
    """The ModelCall a stored row was priced from, as far as pricing is concerned."""
    from bridge.mapping.identity import reported_cost
    from bridge.model import Identity, ModelCall, ReportedCost, Tokens

    (
        _id, ts, model, request_model, provider, harness, user, team,
        input_tokens, output_tokens, cache_read, cache_write, reasoning,
        in_cost, out_cost, read_cost, write_cost, _total,
        estimation, reported_total, _list, source, _version, attrs,
    ) = row  # fmt: skip
    try:
        reported = reported_cost(attrs)
    except ValueError:  # a value the bridge refused then would be refused now: ignore it
        reported = ReportedCost()
    reported.total = reported_total
    parts = (reported.input, reported.output, reported.cache_read, reported.cache_write)
    if all(p is None for p in parts) and source == "reported":
        # Adapters that report parts under other keys stored them as the row's buckets.
        reported.input, reported.output, reported.cache_read, reported.cache_write = (
            in_cost, out_cost, read_cost, write_cost,
        )  # fmt: skip
    if reported.estimation is None and estimation == "subscription" and source in ("reported", "none"):
        reported.estimation = "subscription"  # the emitter's word; 'override' came from config
    return ModelCall(
        dedup_key=f"row:{_id}",
        ts=ts,
        source="reprice",
        signal="trace",
        model=model,
        request_model=request_model,
        provider=None if provider == UNKNOWN else provider,
        tokens=Tokens(
            input=input_tokens,
            output=output_tokens,
            cache_read=cache_read,
            cache_write=cache_write,
            reasoning=reasoning,
            cache_write_1h=min(_one_hour(attrs), cache_write),
        ),
        identity=Identity(
            user_id=None if user == UNKNOWN else user,
            team=None if team == UNKNOWN else team,
            harness_name=None if harness == UNKNOWN else harness,
        ),
        reported=reported,
        # Fast mode changes the price: the emitter's `speed` is all pricing reads of attributes.
        attributes={"speed": attrs["speed"]} if isinstance(attrs, dict) and "speed" in attrs else {},
    )


def _one_hour(attrs: dict[str, Any]) -> int:
    """Emitters send counts as numbers or strings; anything unreadable counts as none."""
    for key in CACHE_1H_KEYS:
        try:
            return max(int(Decimal(str(attrs[key]))), 0)
        except (KeyError, ArithmeticError, ValueError):
            continue
    return 0


def _new_values(costs: Costs) -> tuple[Any, ...]:
    return (
        costs.input, costs.output, costs.cache_read, costs.cache_write, costs.total,
        costs.estimation, costs.list_total, costs.source, costs.price_version,
    )  # fmt: skip


def _old_values(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*row[13:18], row[18], row[20], row[21], row[22])


def scan(
    conn: psycopg.Connection[Any], pricer: Pricer, since: datetime, until: datetime | None, *, stage: bool
) -> Preview:
    """Price every row in range; with `stage`, COPY the changed ones into reprice_changes."""
    models: dict[str, ModelSummary] = {}
    changed = 0
    if stage:
        conn.execute(CREATE_CHANGES)
    with conn.cursor(name="reprice_scan") as cursor:
        cursor.itersize = BATCH_ROWS
        cursor.execute(SCAN, (since, until, until))
        for batch in _batches(cursor):
            staged = []
            for row in batch:
                costs = pricer.price(rebuild_call(row))
                summary = models.setdefault(row[2], ModelSummary())
                summary.rows += 1
                summary.old_total += row[17] or ZERO
                summary.new_total += costs.total or ZERO
                new = _new_values(costs)
                if new != _old_values(row):
                    summary.changed += 1
                    staged.append((changed, row[0], row[1], row[2], row[17], row[20], row[21], row[22], *new))
                    changed += 1
            if stage and staged:
                with conn.cursor().copy("COPY reprice_changes FROM STDIN") as copy:
                    for item in staged:
                        copy.write_row(item)
    return Preview(models, changed)


def _batches(cursor: psycopg.ServerCursor[Any]) -> Iterator[list[tuple[Any, ...]]]:
    while batch := cursor.fetchmany(BATCH_ROWS):
        yield batch


def apply(conn: psycopg.Connection[Any], changed: int) -> tuple[int, Decimal]:
    """Update in committed batches; returns (rows updated, actual change of total_cost_usd)."""
    updated, difference = 0, ZERO
    for start in range(0, changed, BATCH_ROWS):
        with conn.transaction():
            row = conn.execute(APPLY_BATCH, (start, start + BATCH_ROWS)).fetchone()
        assert row is not None, "an aggregate returns one row"
        count, diff = row
        updated += count
        difference += diff
    return updated, difference


def usd(value: Decimal, sign: bool = False) -> str:
    return format(value.quantize(Decimal("1e-10")), "+,f" if sign else ",f")


def header(version: str, start: datetime, end: datetime | None, preview: Preview) -> str:
    until = end.isoformat() if end else "now"
    return (
        f"Pricing with {version}; calls from {start.isoformat()} to {until}: "
        f"{preview.rows:,} rows, {preview.changed:,} to change."
    )


def render(preview: Preview) -> str:
    width = max([len("model"), len("TOTAL"), *(len(m) for m in preview.models)])
    head = f"{'model':<{width}}  {'rows':>9}  {'changed':>9}  {'old total USD':>22}  {'new total USD':>22}  "
    lines = [head + f"{'difference USD':>22}"]
    total = ModelSummary()
    for model in sorted(preview.models, key=lambda m: (-abs(preview.models[m].difference), m)):
        s = preview.models[model]
        total.rows, total.changed = total.rows + s.rows, total.changed + s.changed
        total.old_total, total.new_total = total.old_total + s.old_total, total.new_total + s.new_total
        lines.append(_line(model, s, width))
    lines.append(_line("TOTAL", total, width))
    return "\n".join(lines)


def _line(name: str, s: ModelSummary, width: int) -> str:
    return (
        f"{name:<{width}}  {s.rows:>9,}  {s.changed:>9,}  {usd(s.old_total):>22}  {usd(s.new_total):>22}  "
        f"{usd(s.difference, sign=True):>22}"
    )
