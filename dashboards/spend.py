"""Where the money goes: the org overview, teams, burn rate and repository dashboards.

Panels only select, sum and order: every definition (active developer, list-price
equivalent, projection, budget status) is a view of schema/objects/40_read_model/ or a panel
function of schema/objects/50_panels/ (one file each).
"""

from __future__ import annotations

from typing import Any

from dashboards.grafana import (
    FILTER_ARGS,
    dashboard,
    developer_url,
    filter_variables,
    nav_links,
    ranged,
    session_url,
    view_filters,
)
from dashboards.panels import bargauge, piechart, stat, table, timeseries

USD = "currencyUSD"
# Budget panels (budget_state): the team filter narrows team budgets, the others always show.
BUDGET_TEAM_FILTER = "(scope_kind <> 'team' OR spend_dim_match(scope, ARRAY[${team:sqlstring}]))"
BUDGET_ORDER = (
    "CASE status WHEN 'exceeded' THEN 0 WHEN 'warning' THEN 1 WHEN 'projected_over' THEN 2 ELSE 3 END, "
    "percent DESC, name"
)


def daily_cost_by(column: str, label: str) -> str:
    """Stacked daily cost per `column` from the daily rollup (long format: time, metric, value)."""
    return f"""
SELECT $__timeGroupAlias(bucket, '1d'), {column} AS metric, sum(cost_usd) AS "{label}"
FROM spend_by_day
WHERE $__timeFilter(bucket) AND {view_filters()}
GROUP BY 1, 2
ORDER BY 1, 2"""


def org_overview() -> dict[str, Any]:
    totals = ranged("org_totals")
    stats = [
        stat("Total cost", f"SELECT cost_usd FROM {totals}", USD, decimals=2,
             description="Dashboard cost of every call in the range (subscription calls count $0)."),
        stat("List-price equivalent", f"SELECT list_cost_usd FROM {totals}", USD, decimals=2,
             description="What the same tokens cost at list prices, subscription calls included."),
        stat("Model calls", f"SELECT calls FROM {totals}", "short",
             description="Model calls (one row of agent_spend_logs each)."),
        stat("Active developers", f"SELECT active_developers FROM {totals}", "short",
             description="People with at least one call in the range; CI and unknown identities excluded."),
        stat("Cost per active developer", f"SELECT cost_per_active_developer_usd FROM {totals}", USD,
             decimals=2, description="Developers' own cost (CI excluded) divided by active developers."),
        stat("Tokens", f"SELECT total_tokens FROM {totals}", "short",
             description="Input + cache read + cache write + output tokens."),
    ]  # fmt: skip
    per_dev_daily = f"""
SELECT $__timeGroupAlias(bucket, '1d'), cost_per_developer_usd AS "cost per developer"
FROM developer_cost_per_day($__timeFrom(), $__timeTo(), {FILTER_ARGS})
ORDER BY 1"""
    rows = [
        stats,
        [
            timeseries("Daily cost by provider", daily_cost_by("provider", "cost"), USD, decimals=2,
                       description="Daily cost (UTC days) from the daily rollup, stacked by provider."),
            timeseries("Daily cost by model", daily_cost_by("model", "cost"), USD, decimals=2,
                       description="Daily cost (UTC days) from the daily rollup, stacked by model."),
        ],
        [
            piechart("Model mix", f"""
SELECT model, sum(cost_usd) AS cost_usd
FROM spend_totals($__timeFrom(), $__timeTo(), {FILTER_ARGS})
GROUP BY model
ORDER BY 2 DESC""", USD, description="Share of the range's cost per model."),
            table("Metered vs subscription", f"""
SELECT cost_estimation, calls, cost_usd, list_cost_usd, list_cost_share
FROM {ranged("spend_by_cost_estimation")}
ORDER BY list_cost_usd DESC""", width=8, height=8,
                  description="Dashboard cost next to the list-price equivalent per cost estimation: "
                  "subscription calls cost $0 on the dashboards; list_cost_usd is their metered value."),
            timeseries("Cost per active developer per day", per_dev_daily, USD, decimals=2, width=8,
                       bars=False, stacked=False,
                       description="Developers' own daily cost divided by that day's active developers."),
        ],
        [
            table("Top spenders", f"""
SELECT user_id, team, cost_usd, list_cost_usd, calls, total_tokens, cache_hit_ratio, top_model, cost_share
FROM {ranged("developer_summary")}
ORDER BY cost_usd DESC
LIMIT 25""", links={"user_id": developer_url()},
                  description="Identities by cost in the range; click a user to open the Developer "
                  "dashboard."),
        ],
    ]  # fmt: skip
    return dashboard("agent-spend-overview", "Agent spend: org overview",
                     "What AI coding agents cost the organisation: totals, trends, models and top spenders.",
                     rows, variables=filter_variables(), links=nav_links())  # fmt: skip


def by_team() -> dict[str, Any]:
    teams = ranged("team_summary")
    rows = [
        [
            bargauge("Cost per team", f"SELECT team, cost_usd FROM {teams} ORDER BY cost_usd DESC", USD,
                     decimals=2, description="Cost of each team's calls in the range."),
            bargauge("Active developers per team",
                     f"SELECT team, active_developers FROM {teams} ORDER BY active_developers DESC", "short",
                     description="People with a call in the range, per team (CI excluded)."),
        ],
        [timeseries("Daily cost per team", daily_cost_by("team", "cost"), USD, decimals=2, width=24,
                    description="Daily cost (UTC days) from the daily rollup, stacked by team.")],
        [
            table("Budget status", f"""
SELECT name, scope_kind, scope, period, amount_usd, spent_usd, percent, projected_usd, threshold_reached,
       status, period_start, period_end
FROM budget_state
WHERE {BUDGET_TEAM_FILTER}
ORDER BY {BUDGET_ORDER}""", height=8,
                  description="Every budget (org, team, developer, repository) in its current period "
                  "(UTC month, ISO week or UTC day; independent of the time picker), from the budget_state "
                  "view the alerts and reports read too. The team filter applies to team budgets. "
                  "Projected = spent / elapsed fraction of the period. Managed with agent-spend budget "
                  "(docs/budgets.md)."),
        ],
        [
            table("Teams", f"""
SELECT team, cost_usd, list_cost_usd, calls, active_developers, cost_per_active_developer_usd, total_tokens,
       cache_hit_ratio, cost_share
FROM {teams}
ORDER BY cost_usd DESC""", height=7, description="Per-team totals for the range."),
        ],
        [
            table("Developers in the selected teams", f"""
SELECT user_id, team, cost_usd, list_cost_usd, calls, total_tokens, cache_hit_ratio, long_context_calls,
       top_model, cost_share
FROM {ranged("developer_summary")}
ORDER BY team, cost_usd DESC""", links={"user_id": developer_url()}, height=10,
                  description="Every identity of the selected teams; click a user for the Developer "
                  "dashboard."),
        ],
    ]  # fmt: skip
    return dashboard("agent-spend-teams", "Agent spend: by team",
                     "Cost, active developers and budget status per team, and the developers within them.",
                     rows, variables=filter_variables(), links=nav_links())  # fmt: skip


def burn_rate() -> dict[str, Any]:
    now = f"burn_rate_now({FILTER_ARGS})"
    month = f"month_to_date({FILTER_ARGS})"
    stats = [
        stat("Cost, last hour", f"SELECT cost_last_hour_usd FROM {now}", USD, decimals=2,
             description="Exact cost of calls started in the last 60 minutes."),
        stat("Cost, last 24 h", f"SELECT cost_last_24h_usd FROM {now}", USD, decimals=2,
             description="Exact cost of calls started in the last 24 hours."),
        stat("Calls, last hour", f"SELECT calls_last_hour FROM {now}", "short", width=3,
             description="Model calls started in the last 60 minutes."),
        stat("Active sessions now", f"SELECT active_sessions FROM {now}", "short", width=3,
             description="Sessions with a call in the last 15 minutes."),
        stat("Active developers now", f"SELECT active_developers FROM {now}", "short", width=3,
             description="People with a call in the last 15 minutes (CI excluded)."),
        stat("Month to date", f"SELECT cost_usd FROM {month}", USD, decimals=2, width=4,
             description="Cost since the start of the current UTC month."),
        stat("Projected month end", f"SELECT projected_month_end_usd FROM {month}", USD, decimals=2, width=3,
             description="Daily average over the days of this month with data, times the days in the month."),
    ]  # fmt: skip
    rows = [
        stats,
        [
            timeseries("Cost per 5 minutes (last 6 h)", f"""
SELECT $__timeGroupAlias(ts, '5m'), sum(cost_usd) AS cost
FROM spend_calls
WHERE $__timeFilter(ts) AND {view_filters()}
GROUP BY 1
ORDER BY 1""", USD, decimals=2, stacked=False, timeFrom="6h",
                       description="Raw calls in 5-minute buckets; always the last 6 hours, whatever the "
                       "time picker says, because it reads the raw table."),
            timeseries("Cost per hour", f"""
SELECT $__timeGroupAlias(bucket, '1h'), sum(cost_usd) AS cost
FROM spend_hour_totals($__timeFrom(), $__timeTo(), {FILTER_ARGS})
GROUP BY 1
ORDER BY 1""", USD, decimals=2, stacked=False, description="Hourly cost from the hourly rollup."),
        ],
        [
            table("Top spenders, last hour", f"""
SELECT user_id, team, cost_usd, calls, total_tokens, top_model
FROM developer_summary(now() - interval '1 hour', now(), {FILTER_ARGS})
ORDER BY cost_usd DESC
LIMIT 15""", width=12, links={"user_id": developer_url()},
                  description="Runaway check: who spent the most in the last 60 minutes."),
            table("Long-running active sessions", f"""
SELECT session_id, user_id, team, repository, harness, started_at, running_for_s, turns, cost_usd,
       cost_per_hour_usd
FROM active_sessions(interval '15 minutes', {FILTER_ARGS})
ORDER BY running_for_s DESC
LIMIT 25""", width=12, links={"session_id": session_url(), "user_id": developer_url()},
                  description="Sessions with a call in the last 15 minutes, longest first. Team, developer, "
                  "harness and repository filters apply."),
        ],
        [
            table("Budgets: spent and projection", f"""
SELECT name, scope_kind, scope, period, spent_usd, projected_usd, amount_usd, percent, status
FROM budget_state
WHERE {BUDGET_TEAM_FILTER}
ORDER BY projected_usd / amount_usd DESC, name""", height=7,
                  description="Every budget in its current period: spent so far and projected = spent / "
                  "elapsed fraction of the period (docs/budgets.md). The team filter applies to team "
                  "budgets."),
        ],
    ]  # fmt: skip
    return dashboard("agent-spend-burn-rate", "Agent spend: burn rate",
                     "What is being spent right now: last hour and day, live sessions, runaways, month end.",
                     rows, variables=filter_variables(), links=nav_links(), time_from="now-24h",
                     refresh="1m")  # fmt: skip


def repositories() -> dict[str, Any]:
    repos = ranged("repository_summary")
    ci_daily = f"""
SELECT $__timeGroupAlias(bucket, '1d'), CASE WHEN is_ci THEN 'CI' ELSE 'interactive' END AS metric,
       sum(cost_usd) AS cost
FROM spend_by_day
WHERE $__timeFilter(bucket) AND {view_filters()}
GROUP BY 1, 2
ORDER BY 1, 2"""
    rows = [
        [
            bargauge("Cost per repository", f"""
SELECT repository, sum(cost_usd) AS cost_usd
FROM {repos}
GROUP BY repository
ORDER BY 2 DESC
LIMIT 20""", USD, decimals=2, description="Top 20 repositories by cost ('(none)': no repository reported)."),
            piechart("CI vs interactive", f"""
SELECT CASE WHEN is_ci THEN 'CI' ELSE 'interactive' END AS kind, sum(cost_usd) AS cost_usd
FROM spend_totals($__timeFrom(), $__timeTo(), {FILTER_ARGS})
GROUP BY 1
ORDER BY 2 DESC""", USD, width=12, description="Cost of CI runs (workspace.is_ci) against interactive use."),
        ],
        [
            timeseries("Daily cost, CI vs interactive", ci_daily, USD, decimals=2,
                       description="Daily cost (UTC days), CI runs against interactive sessions."),
            timeseries("Daily cost by repository", daily_cost_by("repository", "cost"), USD, decimals=2,
                       description="Daily cost (UTC days) stacked by repository."),
        ],
        [
            table("Cost per repository and branch", f"""
SELECT repository, branch, cost_usd, list_cost_usd, calls, developers, ci_cost_usd, interactive_cost_usd,
       ci_cost_share, total_tokens
FROM {repos}
ORDER BY cost_usd DESC
LIMIT 200""", height=10, description="Per repository and branch; CI columns split by workspace.is_ci."),
        ],
    ]  # fmt: skip
    return dashboard("agent-spend-repositories", "Agent spend: repositories and projects",
                     "Cost per repository and branch, and CI runs against interactive use.",
                     rows, variables=filter_variables(), links=nav_links())  # fmt: skip
