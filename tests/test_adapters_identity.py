"""Mapping helpers every adapter shares: dedup hashes, identity precedence, harness names, reported cost."""

from __future__ import annotations

from decimal import Decimal

from bridge.mapping.common import short_hash
from bridge.mapping.identity import harness_from_service, identity, reported_cost


def test_short_hash_is_stable_and_order_sensitive() -> None:
    assert short_hash("a", 1, None) == short_hash("a", 1, None)
    assert short_hash("a", 1) != short_hash(1, "a")
    assert len(short_hash("x")) == 24


def test_identity_precedence() -> None:
    every = {
        "agent.user.id": "agent-user",
        "user.email": "ana@example.com",
        "user.id": "u-1",
        "enduser.id": "end-1",
        "user.account_uuid": "acc-uuid",
        "agent.session.id": "s-agent",
        "session.id": "s-session",
        "conversation.id": "s-conv",
        "gen_ai.conversation.id": "s-genai",
        "service.name": "claude-code",
    }
    keys = ["agent.user.id", "user.email", "user.id", "enduser.id", "user.account_uuid"]
    for i, key in enumerate(keys):
        attrs = {k: v for k, v in every.items() if k not in keys[:i]}
        assert identity(attrs).user_id == every[key]
    sessions = ["agent.session.id", "session.id", "conversation.id", "gen_ai.conversation.id"]
    for i, key in enumerate(sessions):
        attrs = {k: v for k, v in every.items() if k not in sessions[:i]}
        assert identity(attrs).session_id == every[key]
    assert identity({"service.name": "claude-code", "agent.harness.name": "pi"}).harness_name == "pi"
    assert identity({"service.name": "codex_cli_rs"}).harness_name == "codex"
    assert identity({"service.name": "unknown_service:node"}, default_harness="x").harness_name == "x"


def test_harness_from_service_names() -> None:
    assert harness_from_service("gemini-cli") == "gemini-cli"
    assert harness_from_service("copilot-chat") == "copilot"
    assert harness_from_service("github-copilot") == "copilot"
    assert harness_from_service("codex_exec") == "codex"
    assert harness_from_service("codex_vscode") == "codex"
    assert harness_from_service("pi-usage-reporter") == "pi"
    assert harness_from_service("pipeline-api") == "pipeline-api"
    assert harness_from_service("my-agent") == "my-agent"
    assert harness_from_service(None) is None


def test_reported_cost_keeps_the_decimal_form_of_the_double() -> None:
    assert reported_cost({"cost_usd": 0.1 + 0.2}, "cost_usd").total == Decimal("0.30000000000000004")
    assert reported_cost({"agent.cost.total.usd": "1.25"}).total == Decimal("1.25")
    assert reported_cost({}).total is None
