"""Team resolution from `users` happens before pricing, so team price rules apply at ingest."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import psycopg

from tests.support.bridge_process import start_bridge
from tests.support.db import rows
from tests.support.otlp import json_span, json_traces, post


def test_team_from_users_table_drives_subscription_rule(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO teams (team) VALUES ('mobile')")
        conn.execute("INSERT INTO users (user_id, team) VALUES ('mo@example.com', 'mobile')")
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text("version: 1\nsubscription:\n  - team: mobile\n")
    bridge = start_bridge(database_url, "--price-overrides", str(overrides))
    try:
        span = json_span(
            "0af7651916cd43dd8448eb211c80319c",
            "00f067aa0ba902b7",
            "chat",
            {
                "gen_ai.request.model": "claude-sonnet-4-5",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 100,
            },
        )
        other = json_span(
            "0af7651916cd43dd8448eb211c80319c",
            "00f067aa0ba902b8",
            "chat",
            {
                "gen_ai.request.model": "claude-sonnet-4-5",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 100,
                "user.email": "nat@example.com",
            },
        )
        assert (
            post(
                f"{bridge.http_url}/v1/traces", json_traces({"user.email": "mo@example.com"}, [span, other])
            )[0]
            == 200
        )
    finally:
        assert bridge.stop() == 0
    # Sonnet 4.5 list price: 1000 × $3/M + 100 × $15/M = $0.0045.
    assert rows(
        database_url,
        "SELECT user_id, team, cost_estimation, total_cost_usd, list_cost_usd "
        "FROM agent_spend_logs ORDER BY user_id",
    ) == [
        ("mo@example.com", "mobile", "subscription", Decimal(0), Decimal("0.0045")),
        ("nat@example.com", "unknown", "metered", Decimal("0.0045"), Decimal("0.0045")),
    ]
