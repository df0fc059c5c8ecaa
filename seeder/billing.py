"""What the providers would have billed for the seeded telemetry, written to billing_lines.

`make seed` sends synthetic telemetry through the bridge, then calls `seed_billing`, which
reads back what the database holds for the seeded days (the daily rollup, per provider,
UTC day, model, user, harness and cost estimation) and writes the bills that telemetry
implies, so the Reconciliation dashboard has something realistic to compare:

* **usage** and **cost** (Anthropic and OpenAI): the metered calls' tokens and list-price
  dollars per day and model, under one monitored API key per provider
  (`MONITORED_ACCOUNTS`). Seat-plan calls (Claude Max: cost estimation `subscription`) are
  not on an API bill, as in reality, so they show up as telemetry with no bill behind it.
* **claude_code** (Anthropic's Claude Code analytics): per user, day and model, every
  claude-code call of that user (seat plans included) with its list-price value as the
  estimated cost.
* Spend no telemetry saw, drawn from `random.Random(seed)`:
  - an unmonitored API key (`UNMONITORED_ACCOUNT`, a nightly batch job): every day some
    claude-haiku-4-5 tokens, a model telemetry also sees, and claude-3-5-haiku tokens, a
    model no telemetry sees;
  - a developer without telemetry (`UNMONITORED_USER`) in the Claude Code analytics and, on
    the monitored key, in the usage and cost reports, on claude-sonnet-4-5 on weekdays;
  - one OpenAI day on which the provider billed 2 % more gpt-5 tokens than telemetry
    holds (an exporter batch that never arrived).

So coverage (telemetry / billed) is 100 % for most OpenAI days and models and below 100 %
for Anthropic. Each written (provider, report) has its days in the range replaced (delete,
then insert, one transaction), like a pull, and its billing_sync row set complete through
the day before the last one (the last day's bucket is still open). Same database, range
and seed: the same lines.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from seeder.catalog import ANTHROPIC, EMAIL_DOMAIN, HAIKU, MODELS, OPENAI, SONNET

PROVIDERS = (ANTHROPIC, OPENAI)
MONITORED_ACCOUNTS = {ANTHROPIC: "apikey_agents_prod", OPENAI: "proj_agents"}
UNMONITORED_ACCOUNT = "apikey_nightly_batch"
UNMONITORED_USER = f"new.hire@{EMAIL_DOMAIN}"
# A model no seeded harness uses, with its list prices (USD per million tokens: input,
# output, cache read, cache write).
LEGACY_MODEL = "claude-3-5-haiku-20241022"
LEGACY_PRICES = (Decimal("0.80"), Decimal("4.00"), Decimal("0.08"), Decimal("1.00"))
DISCREPANCY_MODEL = "gpt-5"
DISCREPANCY_SHARE = Decimal("0.02")
REPORTS = {ANTHROPIC: ("usage", "cost", "claude_code"), OPENAI: ("usage", "cost")}
_COST = Decimal("0.0000000001")  # billing_lines.cost_usd is NUMERIC(20, 10)
_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class TelemetryDay:
    """What the daily rollup holds for one provider, day, model, user, harness kind and plan."""

    provider: str
    day: date
    model: str
    user_id: str
    claude_code: bool  # harness claude-code
    seat: bool  # cost estimation 'subscription'
    calls: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    list_cost_usd: Decimal


@dataclass(frozen=True)
class BillingLine:
    """One row of billing_lines."""

    provider: str
    report: str
    day: date
    model: str
    account: str = ""
    user_ref: str = ""
    line_item: str = ""
    requests: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: Decimal | None = None


@dataclass(frozen=True)
class BillingSeed:
    """What `seed_billing` wrote."""

    first_day: date
    last_day: date
    lines: int
    billed_usd: Decimal  # the cost reports' total
    unmonitored_usd: Decimal  # of which no telemetry saw (the unmonitored key and user)


def read_telemetry(conn: psycopg.Connection[Any], first_day: date, last_day: date) -> list[TelemetryDay]:
    """The daily rollup of the reconciled providers over [first_day, last_day], UTC days."""
    rows = conn.execute(
        """SELECT provider, (bucket AT TIME ZONE 'UTC')::date, model, user_id, harness_name = 'claude-code',
                  cost_estimation = 'subscription', sum(calls), sum(input_tokens), sum(cache_read_tokens),
                  sum(cache_write_tokens), sum(output_tokens), sum(list_cost_usd)
           FROM spend_daily
           WHERE provider = ANY(%s)
             AND bucket >= %s::timestamp AT TIME ZONE 'UTC' AND bucket < %s::timestamp AT TIME ZONE 'UTC'
           GROUP BY 1, 2, 3, 4, 5, 6
           ORDER BY 1, 2, 3, 4, 5, 6""",
        (list(PROVIDERS), first_day, last_day + timedelta(days=1)),
    ).fetchall()
    return [
        TelemetryDay(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            int(r[6]),
            int(r[7]),
            int(r[8]),
            int(r[9]),
            int(r[10]),
            Decimal(r[11]),
        )
        for r in rows
    ]


def billing_lines(
    telemetry: Iterable[TelemetryDay], first_day: date, last_day: date, seed: int
) -> list[BillingLine]:
    """The bills behind `telemetry`, plus the spend no telemetry saw (see the module docstring)."""
    rng = random.Random(seed)
    usage: dict[tuple[str, date, str], BillingLine] = {}
    users: dict[tuple[date, str, str], BillingLine] = {}
    for t in telemetry:
        if t.claude_code and t.provider == ANTHROPIC:
            key = (t.day, t.model, t.user_id)
            users[key] = _add(
                users.get(key)
                or BillingLine(
                    ANTHROPIC, "claude_code", t.day, t.model, user_ref=t.user_id, cost_usd=Decimal(0)
                ),
                t,
            )
        if not t.seat:
            cell = (t.provider, t.day, t.model)
            usage[cell] = _add(
                usage.get(cell)
                or BillingLine(t.provider, "usage", t.day, t.model, account=MONITORED_ACCOUNTS[t.provider]),
                t,
            )
    lines = [*usage.values()]
    gpt5_days = sorted(
        day for provider, day, model in usage if provider == OPENAI and model == DISCREPANCY_MODEL
    )
    missed_day = rng.choice(gpt5_days) if gpt5_days else None
    costs: dict[tuple[str, date, str, str], Decimal] = defaultdict(Decimal)
    for (provider, day, model), line in usage.items():
        cost = line.cost_usd or Decimal(0)
        if provider == OPENAI and model == DISCREPANCY_MODEL and day == missed_day:
            lines.remove(line)
            lines.append(
                replace(
                    line,
                    input_tokens=_grow(line.input_tokens),
                    output_tokens=_grow(line.output_tokens),
                    cache_read_tokens=_grow(line.cache_read_tokens),
                )
            )
            cost += (cost * DISCREPANCY_SHARE).quantize(_COST)
        costs[(provider, day, model, MONITORED_ACCOUNTS[provider])] += cost
    lines = [replace(line, cost_usd=None) for line in lines]
    day = first_day
    while day <= last_day:
        for model, prices, scale in ((HAIKU, _prices(HAIKU), 1), (LEGACY_MODEL, LEGACY_PRICES, 2)):
            batch = BillingLine(
                ANTHROPIC,
                "usage",
                day,
                model,
                account=UNMONITORED_ACCOUNT,
                requests=rng.randint(150, 250) * scale,
                input_tokens=rng.randint(300_000, 500_000) * scale,
                output_tokens=rng.randint(30_000, 50_000),
                cache_read_tokens=rng.randint(1_000_000, 1_500_000),
                cache_write_tokens=rng.randint(50_000, 80_000),
            )
            lines.append(batch)
            costs[(ANTHROPIC, day, model, UNMONITORED_ACCOUNT)] += _price(batch, prices)
        if day.weekday() < 5:
            tokens = BillingLine(
                ANTHROPIC,
                "usage",
                day,
                SONNET,
                account=MONITORED_ACCOUNTS[ANTHROPIC],
                user_ref=UNMONITORED_USER,
                requests=rng.randint(40, 80),
                input_tokens=rng.randint(5_000, 10_000),
                output_tokens=rng.randint(15_000, 25_000),
                cache_read_tokens=rng.randint(800_000, 1_200_000),
                cache_write_tokens=rng.randint(50_000, 100_000),
            )
            cost = _price(tokens, _prices(SONNET))
            lines.append(replace(tokens, user_ref=""))
            costs[(ANTHROPIC, day, SONNET, MONITORED_ACCOUNTS[ANTHROPIC])] += cost
            users[(day, SONNET, UNMONITORED_USER)] = replace(
                tokens, report="claude_code", account="", cost_usd=cost
            )
        day += timedelta(days=1)
    lines = _merge(lines)
    lines += [
        BillingLine(provider, "cost", day, model, account=account, line_item="tokens", cost_usd=cost)
        for (provider, day, model, account), cost in costs.items()
    ]
    lines += [replace(line, account="") for line in users.values()]
    return sorted(
        lines,
        key=lambda line: (
            line.provider,
            line.report,
            line.day,
            line.model,
            line.account,
            line.user_ref,
            line.line_item,
        ),
    )


def seed_billing(
    database_url: str, first_day: date, last_day: date, seed: int, now: datetime | None = None
) -> BillingSeed:
    """Replace the seeded reports' lines of [first_day, last_day] with the bills the database's
    telemetry implies (plus the unmonitored spend), and mark their billing_sync rows."""
    pulled_at = now or datetime.now(UTC)
    with psycopg.connect(database_url) as conn:
        lines = billing_lines(read_telemetry(conn, first_day, last_day), first_day, last_day, seed)
        for provider, reports in REPORTS.items():
            for report in reports:
                conn.execute(
                    "DELETE FROM billing_lines WHERE provider = %s AND report = %s AND day BETWEEN %s AND %s",
                    (provider, report, first_day, last_day),
                )
                conn.execute(
                    """INSERT INTO billing_sync AS s (provider, report, complete_through, last_pulled_at)
                       VALUES (%s, %s, %s, %s)
                       ON CONFLICT (provider, report) DO UPDATE
                       SET complete_through = greatest(s.complete_through, excluded.complete_through),
                           last_pulled_at = excluded.last_pulled_at, last_error = NULL""",
                    (provider, report, last_day - timedelta(days=1), pulled_at),
                )
        with conn.cursor().copy(
            "COPY billing_lines (provider, report, day, model, account, user_ref, line_item, requests,"
            " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, pulled_at)"
            " FROM STDIN"
        ) as copy:
            for line in lines:
                copy.write_row(
                    (
                        line.provider,
                        line.report,
                        line.day,
                        line.model,
                        line.account,
                        line.user_ref,
                        line.line_item,
                        line.requests,
                        line.input_tokens,
                        line.output_tokens,
                        line.cache_read_tokens,
                        line.cache_write_tokens,
                        line.cost_usd,
                        pulled_at,
                    )
                )
    billed = sum((line.cost_usd or Decimal(0) for line in lines if line.report == "cost"), Decimal(0))
    unmonitored = sum(
        (
            line.cost_usd or Decimal(0)
            for line in lines
            if line.report == "cost" and line.account == UNMONITORED_ACCOUNT
        ),
        Decimal(0),
    ) + sum((line.cost_usd or Decimal(0) for line in lines if line.user_ref == UNMONITORED_USER), Decimal(0))
    return BillingSeed(first_day, last_day, len(lines), billed, unmonitored)


def _add(line: BillingLine, t: TelemetryDay) -> BillingLine:
    return replace(
        line,
        requests=(line.requests or 0) + t.calls,
        input_tokens=line.input_tokens + t.input_tokens,
        output_tokens=line.output_tokens + t.output_tokens,
        cache_read_tokens=line.cache_read_tokens + t.cache_read_tokens,
        cache_write_tokens=line.cache_write_tokens + t.cache_write_tokens,
        cost_usd=(line.cost_usd or Decimal(0)) + t.list_cost_usd,
    )


def _merge(lines: list[BillingLine]) -> list[BillingLine]:
    """Lines sharing a primary key summed into one (the unmonitored user's usage joins the key's)."""
    merged: dict[tuple[str, str, date, str, str, str, str], BillingLine] = {}
    for line in lines:
        key = (line.provider, line.report, line.day, line.model, line.account, line.user_ref, line.line_item)
        seen = merged.get(key)
        merged[key] = (
            line
            if seen is None
            else replace(
                seen,
                requests=(seen.requests or 0) + (line.requests or 0),
                input_tokens=seen.input_tokens + line.input_tokens,
                output_tokens=seen.output_tokens + line.output_tokens,
                cache_read_tokens=seen.cache_read_tokens + line.cache_read_tokens,
                cache_write_tokens=seen.cache_write_tokens + line.cache_write_tokens,
            )
        )
    return list(merged.values())


def _grow(tokens: int) -> int:
    return tokens + int(tokens * DISCREPANCY_SHARE)


def _prices(model: str) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    spec = MODELS[model]
    return (
        Decimal(str(spec.input)),
        Decimal(str(spec.output)),
        Decimal(str(spec.cache_read)),
        Decimal(str(spec.cache_write)),
    )


def _price(line: BillingLine, prices: tuple[Decimal, Decimal, Decimal, Decimal]) -> Decimal:
    tokens = (line.input_tokens, line.output_tokens, line.cache_read_tokens, line.cache_write_tokens)
    return (sum((n * p for n, p in zip(tokens, prices, strict=True)), Decimal(0)) / _MILLION).quantize(_COST)
