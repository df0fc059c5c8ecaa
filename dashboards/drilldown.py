"""Why it costs what it costs: the developer, models and cache, and data-quality dashboards."""

from __future__ import annotations

from typing import Any

from dashboards.grafana import (
    FILTER_ARGS,
    SEQUENCE_WINDOW,
    dashboard,
    filter_variables,
    nav_links,
    ranged,
    ranged_recent,
    session_url,
    textbox_variable,
    view_filters,
)
from dashboards.panels import bargauge, piechart, stat, table, timeseries
from dashboards.reconcile import reconciliation_link

USD = "currencyUSD"


def developer() -> dict[str, Any]:
    totals = ranged("org_totals")
    sessions = ranged("session_summary")
    stats = [
        stat("Cost", f"SELECT cost_usd FROM {totals}", USD, decimals=2, description="Cost in the range."),
        stat("List-price equivalent", f"SELECT list_cost_usd FROM {totals}", USD, decimals=2,
             description="The same tokens at list prices, subscription calls included."),
        stat("Model calls", f"SELECT calls FROM {totals}", "short", description="Model calls in the range."),
        stat("Sessions", f"SELECT count(*) FROM {sessions}", "short",
             description="Sessions active in the range."),
        stat("Cache hit ratio", f"SELECT cache_hit_ratio FROM {totals}", "percentunit", decimals=1,
             description="cache_read / (input + cache_read + cache_write): share of prompt tokens served "
             "from the provider's prompt cache."),
        stat("Tokens", f"SELECT total_tokens FROM {totals}", "short", description="All token buckets."),
    ]  # fmt: skip
    daily_by_model = f"""
SELECT $__timeGroupAlias(bucket, '1d'), model AS metric, sum(cost_usd) AS cost
FROM spend_by_day
WHERE $__timeFilter(bucket) AND {view_filters()}
GROUP BY 1, 2
ORDER BY 1, 2"""
    daily_cache = f"""
SELECT $__timeGroupAlias(bucket, '1d'),
       sum(cache_read_tokens) / nullif(sum(prompt_tokens), 0) AS "cache hit ratio"
FROM spend_by_day
WHERE $__timeFilter(bucket) AND {view_filters()}
GROUP BY 1
ORDER BY 1"""
    rows = [
        stats,
        [
            timeseries("Daily cost by model", daily_by_model, USD, decimals=2, width=16,
                       description="Daily cost (UTC days) of the selected developer, stacked by model."),
            piechart("Models used", f"""
SELECT model, sum(cost_usd) AS cost_usd
FROM spend_filtered($__timeFrom(), $__timeTo(), {FILTER_ARGS})
GROUP BY model
ORDER BY 2 DESC""", USD, description="Cost per model in the range."),
        ],
        [
            table("Sessions", f"""
SELECT session_id, user_id, started_at, last_call_at, duration_s, turns, total_tokens, cache_hit_ratio,
       cost_usd, repository, harness, team
FROM {sessions}
ORDER BY started_at DESC
LIMIT 200""", links={"session_id": session_url()}, height=10,
                  description="Sessions active in the range (whole-session totals from the session rollup). "
                  "Click a session id to list its calls below. Environment and model filters do not apply "
                  "to sessions."),
        ],
        [
            table("Calls in session ${session}", """
SELECT ts, model, harness, status, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens,
       cost_usd, list_cost_usd, duration_ms, stop_reason, error
FROM spend_calls
WHERE session_id = ${session:sqlstring}
ORDER BY ts
LIMIT 2000""", height=10,
                  description="Every model call of the session chosen in the Sessions table (or typed into "
                  "the Session box), read through the session index."),
        ],
        [
            table("Repositories", f"""
SELECT repository, branch, cost_usd, calls, total_tokens
FROM {ranged("repository_summary")}
ORDER BY cost_usd DESC""", width=12, height=8, description="Where the developer's agents worked."),
            timeseries("Cache hit ratio per day", daily_cache, "percentunit", decimals=1, bars=False,
                       stacked=False, description="Share of prompt tokens read from the cache, per UTC day."),
        ],
    ]  # fmt: skip
    variables = [*filter_variables(single_user=True), textbox_variable("session", "Session")]
    return dashboard("agent-spend-developer", "Agent spend: developer",
                     "One developer: daily cost, sessions and their calls, models, repositories, caching.",
                     rows, variables=variables, links=nav_links())  # fmt: skip


def models_and_cache() -> dict[str, Any]:
    efficiency = ranged("model_cache_efficiency")
    daily_tokens = f"""
SELECT $__timeGroupAlias(bucket, '1d'), model AS metric, sum(total_tokens) AS tokens
FROM spend_by_day
WHERE $__timeFilter(bucket) AND {view_filters()}
GROUP BY 1, 2
ORDER BY 1, 2"""
    daily_cost = daily_tokens.replace("sum(total_tokens) AS tokens", "sum(cost_usd) AS cost")
    rows = [
        [
            table("Cost and tokens per model", f"""
SELECT model, provider, calls, cost_usd, list_cost_usd, cost_per_1k_output_usd, input_tokens,
       cache_read_tokens, cache_write_tokens, output_tokens, cache_hit_ratio, cache_saved_usd,
       input_usd_per_mtok, cache_read_usd_per_mtok, long_context_calls
FROM {efficiency}
ORDER BY cost_usd DESC""", height=8,
                  description="cost_per_1k_output_usd: total cost per 1,000 output tokens. cache_saved_usd: "
                  "cache-read tokens x (input price - cache-read price), prices derived from the model's "
                  "recent metered calls (model_token_prices); empty when no call carries per-bucket costs."),
        ],
        [
            timeseries("Daily cost by model", daily_cost, USD, decimals=2,
                       description="Daily cost (UTC days) stacked by model."),
            timeseries("Daily tokens by model", daily_tokens, "short",
                       description="Daily tokens (all buckets) stacked by model."),
        ],
        [
            bargauge("Cost per 1k output tokens",
                     f"SELECT model, cost_per_1k_output_usd FROM {efficiency} ORDER BY 2 DESC NULLS LAST",
                     USD, width=8, decimals=3, description="Total cost (input and cache included) per 1,000 "
                     "output tokens: what a unit of generated work costs on each model."),
            bargauge("Cache hit ratio per model",
                     f"SELECT model, cache_hit_ratio FROM {efficiency} ORDER BY 2 DESC NULLS LAST",
                     "percentunit", width=8, decimals=1, maximum=1,
                     description="cache_read / (input + cache_read + cache_write) per model."),
            bargauge("Dollars saved by cache reads",
                     f"SELECT model, cache_saved_usd FROM {efficiency} ORDER BY 2 DESC NULLS LAST", USD,
                     width=8, decimals=2, description="Cache-read tokens priced at the uncached input price, "
                     "minus what they cost as cache reads."),
        ],
        [
            table("Cache writes never read back (last 6 h)", f"""
SELECT session_id, user_id, model, harness, unread_writes, cache_writes, unread_write_tokens,
       unread_write_cost_usd, last_unread_at
FROM {ranged_recent("cache_writes_unread", SEQUENCE_WINDOW)}
ORDER BY unread_write_tokens DESC
LIMIT 50""", width=12, height=9, links={"session_id": session_url()},
                  description="Calls of the last 6 h of the range that wrote to the prompt cache but whose "
                  "next call (same session and model) came after the 5-minute cache lifetime, never came, "
                  "or read nothing from it. Per-call analysis of the raw table, hence the bounded window."),
            table("Cache-busting sessions (last 6 h)", f"""
SELECT session_id, user_id, model, harness, busts, calls, first_bust_at, busted_prompt_tokens, cost_usd
FROM {ranged_recent("cache_busting_sessions", SEQUENCE_WINDOW)}
ORDER BY busts DESC, busted_prompt_tokens DESC
LIMIT 50""", width=12, height=9, links={"session_id": session_url()},
                  description="Sessions (last 6 h of the range) where the share of the prompt read from "
                  "cache fell by 50 points or more between consecutive calls (prompt >= 4,096 tokens): "
                  "edited system prompt or tools, compaction, or an expired cache."),
        ],
        [
            table("Long-context requests per developer", f"""
SELECT user_id, team, long_context_calls, calls, long_context_share, cost_usd
FROM {ranged("long_context_requests")}
WHERE long_context_calls > 0
ORDER BY long_context_calls DESC
LIMIT 50""", height=8,
                  description="Calls whose prompt (input + cache read + cache write) exceeded 200k tokens, "
                  "where providers bill the premium long-context tier."),
        ],
    ]  # fmt: skip
    return dashboard("agent-spend-models", "Agent spend: models and cache",
                     "Cost and tokens per model, prompt-cache efficiency and waste, long-context use.",
                     rows, variables=filter_variables(), links=nav_links())  # fmt: skip


def data_quality() -> dict[str, Any]:
    ingest = """
SELECT {column}
FROM ingest_summary
WHERE $__timeFilter(bucket)"""
    delay = ranged_recent("arrival_delay_stats")
    stats = [
        stat("Rows stored", ingest.format(column="coalesce(sum(rows_written), 0)"), "short",
             description="Rows written by the bridge in the range (ingest_stats; not filterable)."),
        stat("Duplicates skipped", ingest.format(column="coalesce(sum(duplicates_skipped), 0)"), "short",
             description="Records already stored (same dedup key), skipped (ingest_stats)."),
        stat("Rejected records", ingest.format(column="coalesce(sum(rejected), 0)"), "short",
             description="Records the bridge refused (ingest_stats); reasons below."),
        stat("Calls without cost", f"SELECT coalesce(sum(unpriced_calls), 0) FROM {ranged('spend_totals')}",
             "short", description="Calls stored with total_cost_usd NULL: missing from every cost panel."),
        stat("Unknown user or team", f"SELECT coalesce(sum(calls), 0) FROM {ranged('unknown_identity')}",
             "short", description="Calls attributed to user 'unknown' or team 'unknown'."),
        stat("Late rows (> 5 min, last 24 h)", f"SELECT late_rows FROM {delay}", "short",
             description="Rows stored in the last 24 h of the range more than 5 minutes after the call "
             "started."),
    ]  # fmt: skip
    rows = [
        stats,
        [
            timeseries("Ingest", """
SELECT $__timeGroupAlias(bucket, $__interval), sum(records_received) AS received,
       sum(rows_written) AS written, sum(duplicates_skipped) AS duplicates, sum(rejected) AS rejected
FROM ingest_summary
WHERE $__timeFilter(bucket)
GROUP BY 1
ORDER BY 1""", "short", width=24, bars=False, stacked=False, interval="1m",
                       description="Per-minute ingest accounting (ingest_stats): model-call records "
                       "received, rows written, duplicates skipped and records rejected."),
        ],
        [
            table("Rows per source and harness (last 24 h)", f"""
SELECT source, signal, harness, rows, unpriced_rows, unknown_identity_rows, first_seen, last_seen
FROM {ranged_recent("rows_by_source")}
ORDER BY rows DESC""", width=12, height=8,
                  description="Which mapping adapter (source) and harness produced the raw rows of the last "
                  "24 h of the range (raw table: bounded window)."),
            table("Rejected records by reason", """
SELECT reason, signal, rejected, last_seen, example::text AS example
FROM rejections_by_reason($__timeFrom(), $__timeTo())
ORDER BY rejected DESC""", width=12, height=8,
                  description="ingest_rejections in the range, with the latest example (not filterable)."),
        ],
        [
            bargauge("Arrival delay (last 24 h)",
                     f"SELECT delay, rows FROM {ranged_recent('arrival_delay')} ORDER BY sort_key",
                     "short", width=8, description="Rows stored in the last 24 h of the range, by "
                     "ingest_ts - ts (how long after the call started the row arrived). Backfills and "
                     "replays show up as > 24 h."),
            table("Arrival delay percentiles (last 24 h)", f"""
SELECT rows, p50_s, p95_s, p99_s, max_s, late_rows
FROM {delay}""", width=8, height=8, description="Percentiles of ingest_ts - ts, in seconds."),
            table("Clock skew (last 24 h)", f"""
SELECT source, harness, user_id, machine_id, rows, max_skew_s, avg_skew_s, last_seen
FROM {ranged_recent("clock_skew")}
ORDER BY rows DESC""", width=8, height=8,
                  description="Rows stored in the last 24 h of the range whose call start (ts) is more than "
                  "5 s after the bridge stored them: the emitting machine's clock runs ahead."),
        ],
        [
            table("Unpriced or unknown models", f"""
SELECT model, provider, problem, calls, unpriced_calls, total_tokens, cost_usd, list_cost_usd
FROM {ranged("pricing_gaps")}
ORDER BY calls DESC""", width=12, height=8,
                  description="Models of the range with calls lacking a cost, without any list price, or "
                  "reported as 'unknown'. Add prices to the overrides file, then `agent-spend reprice`."),
            table("Models without a list price (all time)", """
SELECT model, provider, calls, calls_without_cost, tokens, first_seen, last_seen
FROM unpriced_models
ORDER BY calls DESC""", width=12, height=8,
                  description="0002's unpriced_models view over all stored rows (partial index; ignores the "
                  "time picker and filters)."),
        ],
        [
            table("Rows with unknown user or team", f"""
SELECT user_id, team, harness, environment, calls, cost_usd
FROM {ranged("unknown_identity")}
ORDER BY calls DESC""", height=7,
                  description="Calls the bridge could not attribute: no user identity, or a user without "
                  "a team."),
        ],
    ]  # fmt: skip
    return dashboard("agent-spend-data-quality", "Agent spend: data quality",
                     "Is the data complete and trustworthy: sources, pricing gaps, duplicates, rejections, "
                     "late and clock-skewed rows, unattributed calls.",
                     rows, variables=filter_variables(), links=[*nav_links(), reconciliation_link()],
                     time_from="now-24h")  # fmt: skip
