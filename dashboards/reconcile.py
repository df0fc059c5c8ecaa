"""Does telemetry see what the providers bill: the Reconciliation dashboard.

Every figure comes from the reconciliation functions of schema/objects/50_panels/
(`reconcile_days`, `reconcile_totals`, `reconcile_users`, `reconcile_unmonitored`,
`reconcile_unbilled`) and the `reconcile_sync` view, which read billing_lines (what
`agent-spend reconcile` pulled) and the daily rollups. Bills are per UTC day, so the
figures cover the whole UTC days the time range touches. Only the model filter (and the
developer filter on the per-user table) applies: a bill knows no team, repository, harness
or environment, and comparing a filtered telemetry with a whole bill would mean nothing.
"""

from __future__ import annotations

from typing import Any

from dashboards.grafana import RANGE_ARGS, dashboard, developer_url, filter_variables, nav_links
from dashboards.panels import stat, table, timeseries

USD = "currencyUSD"
UID = "agent-spend-reconciliation"
URL = f"/d/{UID}/reconciliation"
MODEL = "ARRAY[${model:sqlstring}]"
USER = "ARRAY[${user:sqlstring}]"


def reconciled(function: str, *extra: str) -> str:
    """`function(<dashboard range>, <model filter>[, extra...])`, the reconciliation call form."""
    return f"{function}({', '.join([RANGE_ARGS, MODEL, *extra])})"


def reconciliation_link() -> dict[str, Any]:
    """A dashboard link to Reconciliation, keeping the time range and filters."""
    return {
        "type": "link",
        "title": "Reconciliation",
        "url": URL,
        "icon": "dashboard",
        "includeVars": True,
        "keepTime": True,
        "asDropdown": False,
        "tags": [],
        "targetBlank": False,
        "tooltip": "Billed by the providers against what telemetry saw",
    }


def reconciliation() -> dict[str, Any]:
    totals = f"{reconciled('reconcile_totals')} WHERE provider = 'all providers'"
    stats = [
        stat("Billed", f"SELECT billed_usd FROM {totals}", USD, decimals=2,
             description="What the providers billed for the UTC days of the range (cost report, else the "
             "console's cost CSV, else Claude Code's estimate), for the providers billing is pulled for."),
        stat("Seen by telemetry", f"SELECT telemetry_cost_usd FROM {totals}", USD, decimals=2,
             description="The dashboards' cost of the metered calls to those providers on those days "
             "(seat-plan calls excluded: they are on no API bill)."),
        stat("Coverage (dollars)", f"SELECT coverage_usd_ratio FROM {totals}", "percentunit", decimals=1,
             description="Seen by telemetry / billed. Below 100 %: spend no telemetry saw; above: "
             "telemetry with no bill behind it or prices above the bill."),
        stat("Coverage (tokens)", f"SELECT coverage_tokens_ratio FROM {totals}", "percentunit", decimals=1,
             description="Telemetry tokens / billed tokens, all four buckets (uncached input, cache read, "
             "cache write, output)."),
        stat("Billed, never seen", f"SELECT unseen_usd FROM {totals}", USD, decimals=2,
             description="Sum over days and models of billed - seen, where positive: unmonitored keys "
             "or users, harnesses without telemetry."),
        stat("Telemetry without a bill", f"SELECT coalesce(sum(unbilled_usd), 0) FROM "
             f"{reconciled('reconcile_unbilled')}", USD, decimals=2,
             description="Seat-plan calls at list price, plus telemetry dollars beyond the bill."),
    ]  # fmt: skip
    daily_coverage = f"""
SELECT d.day::timestamp AT TIME ZONE 'UTC' AS time, d.provider AS metric,
       sum(d.telemetry_cost_usd) FILTER (WHERE d.billed_usd IS NOT NULL) / nullif(sum(d.billed_usd), 0)
           AS coverage
FROM {reconciled("reconcile_days")} d
GROUP BY 1, 2
ORDER BY 1, 2"""
    daily_amounts = f"""
SELECT d.day::timestamp AT TIME ZONE 'UTC' AS time, sum(d.billed_usd) AS billed,
       sum(d.telemetry_cost_usd) AS "seen by telemetry"
FROM {reconciled("reconcile_days")} d
GROUP BY 1
ORDER BY 1"""
    rows = [
        stats,
        [
            timeseries("Dollar coverage per provider and day", daily_coverage, "percentunit", decimals=1,
                       bars=False, stacked=False,
                       description="Seen by telemetry / billed per provider and UTC day."),
            timeseries("Billed and seen per day", daily_amounts, USD, decimals=2, stacked=False,
                       description="Billed dollars and the dashboards' cost of the same providers' metered "
                       "calls, per UTC day."),
        ],
        [
            table("Coverage per provider, day and model", f"""
SELECT provider, day, model, billed_tokens, telemetry_tokens, coverage_tokens_ratio, billed_usd,
       telemetry_cost_usd, telemetry_list_usd, telemetry_reported_usd, coverage_usd_ratio, unseen_usd,
       unbilled_usd, seat_tokens, telemetry_calls, tokens_report, usd_report
FROM {reconciled("reconcile_days")}
ORDER BY day DESC, provider, billed_usd DESC NULLS LAST, model""", height=10,
                  description="Per UTC day and model: billed tokens (all buckets) and dollars beside "
                  "telemetry (metered calls: tokens, the dashboards' cost, list-price and reported "
                  "cost). Coverage = telemetry / billed, empty when nothing was billed. tokens_report "
                  "and usd_report: the report the billed figures come from (usage > csv_usage > "
                  "claude_code; cost > csv_cost > claude_code). seat_tokens: "
                  "seat-plan calls, compared with nothing."),
        ],
        [
            table("Billed, never seen in telemetry", f"""
SELECT provider, kind, who, model, days, billed_tokens, billed_usd, unseen_tokens, unseen_usd
FROM {reconciled("reconcile_unmonitored")}
ORDER BY unseen_usd DESC NULLS LAST, unseen_tokens DESC""", width=12, height=9,
                  description="api key or account: billed on days and models telemetry saw nothing of (an "
                  "unmonitored key, a harness without telemetry). user: named by a report, with no telemetry "
                  "of theirs. partly seen: the remaining shortfall where telemetry saw less than billed."),
            table("Telemetry with no bill behind it", f"""
SELECT provider, reason, model, days, telemetry_calls, unbilled_tokens, unbilled_usd
FROM {reconciled("reconcile_unbilled")}
ORDER BY unbilled_usd DESC, unbilled_tokens DESC""", width=12, height=9,
                  description="seat plan: subscription calls (list-price value), never on an API bill. no "
                  "bill: metered telemetry on a day and model the provider billed nothing for. above bill: "
                  "telemetry tokens or dollars beyond the billed ones (wrong prices, double counting, a day "
                  "not closed yet)."),
        ],
        [
            table("Per developer (reports that name users)", f"""
SELECT provider, user_id, model, report, count(*) AS days, sum(billed_tokens) AS billed_tokens,
       sum(telemetry_tokens) AS telemetry_tokens,
       sum(telemetry_tokens) / nullif(sum(billed_tokens), 0) AS coverage_tokens_ratio,
       sum(billed_usd) AS billed_usd, sum(telemetry_list_usd) AS telemetry_list_usd,
       sum(telemetry_list_usd) / nullif(sum(billed_usd), 0) AS coverage_usd_ratio
FROM {reconciled("reconcile_users", USER)}
GROUP BY provider, user_id, model, report
ORDER BY billed_usd DESC, user_id, model
LIMIT 200""", width=16, height=9, links={"user_id": developer_url()},
                  description="Claude Code analytics (user = email) against the user's claude-code calls, "
                  "seat plans included; dollars are the report's estimate against the list-price value. "
                  "The developer and model filters apply."),
            table("Billing pulls", """
SELECT provider, report, complete_through, last_day_with_lines, last_pulled_at, last_error
FROM reconcile_sync
ORDER BY provider, report""", width=8, height=9,
                  description="Where each report's pull stands (`agent-spend reconcile`): days up to "
                  "complete_through are closed at the provider. Ignores the time range."),
        ],
    ]  # fmt: skip
    return dashboard(UID, "Agent spend: reconciliation",
                     "What the providers billed against what telemetry saw, per provider, day, model and "
                     "user: coverage, spend no telemetry saw, telemetry with no bill behind it.",
                     rows, variables=filter_variables(), links=nav_links(), time_from="now-30d",
                     refresh="1h")  # fmt: skip
