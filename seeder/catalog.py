"""The static world the seeder draws from: teams, people, repositories, harnesses and models.

Everything a dashboard groups by lives here as plain data, so a reader can see at a glance
which dimensions the synthetic org has, and the generator stays free of magic constants.
Prices are list prices per million tokens; they are deliberately local to the seeder so the
emitted `agent.cost.total.usd` is an independent check on the bridge's own pricing.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.config import LONG_CONTEXT_THRESHOLD

ANTHROPIC = "anthropic"
OPENAI = "openai"
GEMINI = "gcp.gemini"

# The wire dialect tells the bridge how the emitter talked to the provider.
DIALECTS: dict[str, str] = {
    ANTHROPIC: "anthropic-messages",
    OPENAI: "openai-responses",
    GEMINI: "gemini",
}

SERVER_ADDRESSES: dict[str, str] = {
    ANTHROPIC: "api.anthropic.com",
    OPENAI: "api.openai.com",
    GEMINI: "generativelanguage.googleapis.com",
}

# Raw provider stop reasons (agent.stop_reason) per outcome; finish_reasons carry the
# normalised OTel GenAI values ("tool_call", "stop", "length") instead.
STOP_REASONS: dict[str, dict[str, str]] = {
    ANTHROPIC: {"tool_call": "tool_use", "stop": "end_turn", "length": "max_tokens"},
    OPENAI: {"tool_call": "tool_calls", "stop": "stop", "length": "max_output_tokens"},
    GEMINI: {"tool_call": "STOP", "stop": "STOP", "length": "MAX_TOKENS"},
}

# What a failed call looks like per provider: (error.type, status message).
ERRORS: dict[str, tuple[tuple[str, str], ...]] = {
    ANTHROPIC: (
        ("overloaded_error", "529 Overloaded"),
        ("rate_limit_error", "429 rate limit exceeded for output tokens per minute"),
        ("api_error", "500 Internal server error"),
        ("timeout", "request timed out after 600s"),
    ),
    OPENAI: (
        ("rate_limit_exceeded", "429 Rate limit reached for requests"),
        ("server_error", "500 The server had an error while processing your request"),
        ("timeout", "stream disconnected before completion"),
    ),
    GEMINI: (
        ("RESOURCE_EXHAUSTED", "429 Resource has been exhausted (e.g. check quota)"),
        ("UNAVAILABLE", "503 The model is overloaded. Please try again later."),
        ("DEADLINE_EXCEEDED", "504 Deadline exceeded"),
    ),
}


@dataclass(frozen=True)
class Team:
    name: str
    display_name: str
    utc_offset_minutes: int  # where most of the team sits; drives the working-hours curve


TEAMS: tuple[Team, ...] = (
    Team("platform", "Platform", 60),
    Team("payments", "Payments", -300),
    Team("mobile", "Mobile", -480),
    Team("data", "Data", 0),
    Team("infra", "Infrastructure", 330),
    Team("growth", "Growth", -480),
)

# Pairs, not a cross product, so names read like real people and stay stable across runs.
DEVELOPER_NAMES: tuple[tuple[str, str], ...] = (
    ("alice", "nguyen"), ("bob", "martins"), ("carla", "rossi"), ("deepak", "iyer"),
    ("elena", "petrova"), ("farid", "haddad"), ("grace", "kim"), ("hiro", "tanaka"),
    ("isabel", "garcia"), ("jonas", "weber"), ("kofi", "mensah"), ("lena", "novak"),
    ("mateo", "silva"), ("nadia", "rahman"), ("oscar", "lindqvist"), ("priya", "shah"),
    ("quinn", "obrien"), ("rosa", "delgado"), ("sam", "cohen"), ("tara", "walsh"),
    ("umar", "farouk"), ("vera", "ivanova"), ("wei", "zhang"), ("yusuf", "demir"),
)  # fmt: skip

EMAIL_DOMAIN = "example.com"
CI_USER = f"ci-bot@{EMAIL_DOMAIN}"
CI_TEAM = "platform"


@dataclass(frozen=True)
class Repo:
    slug: str  # e.g. github.com/acme/payments-api, the form agent.workspace.repo carries
    team: str
    branches: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.slug.rsplit("/", 1)[-1]


REPOS: tuple[Repo, ...] = (
    Repo("github.com/acme/platform-tools", "platform", ("main", "feat/otel-exporter", "fix/flaky-e2e")),
    Repo("github.com/acme/service-mesh", "platform", ("main", "chore/envoy-1-31", "feat/mtls-rotation")),
    Repo("github.com/acme/payments-api", "payments", ("main", "feat/refund-retries", "fix/idempotency-keys")),
    Repo("github.com/acme/ledger-service", "payments", ("main", "feat/multi-currency", "perf/batching")),
    Repo("github.com/acme/mobile-app", "mobile", ("main", "feat/offline-sync", "fix/ios-push-crash")),
    Repo("github.com/acme/design-system", "mobile", ("main", "feat/dark-mode-tokens")),
    Repo("github.com/acme/data-pipelines", "data", ("main", "feat/cdc-ingest", "fix/late-events")),
    Repo("github.com/acme/warehouse-dbt", "data", ("main", "feat/churn-model", "refactor/staging-layer")),
    Repo("github.com/acme/infra-terraform", "infra", ("main", "feat/eks-1-31", "fix/nat-gateway-costs")),
    Repo("github.com/acme/web-frontend", "growth", ("main", "feat/checkout-ab-test", "fix/hydration")),
    Repo("github.com/acme/experiments", "growth", ("main", "exp/pricing-page")),
)

CI_BRANCHES: tuple[str, ...] = (
    "main",
    "renovate/all-minor-patch",
    "dependabot/npm/vite-6.0.3",
    "release/2025.11",
)


@dataclass(frozen=True)
class ModelSpec:
    """A model's list prices (USD per million tokens) and the shape of a typical call."""

    name: str
    provider: str
    input: float
    output: float
    cache_read: float
    cache_write: float  # 0 where the provider does not bill cache writes
    out_median: int  # tokens of a typical tool-use turn
    tokens_per_second: float
    compact_at: int  # harnesses summarise the conversation around here
    reasoning: bool = False  # OpenAI reasoning models report reasoning tokens inside output
    long_threshold: int | None = None  # prompt size above which the long-context tier applies
    long_input: float = 0.0
    long_output: float = 0.0
    long_cache_read: float = 0.0


MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in (
        ModelSpec("claude-sonnet-4-5-20250929", ANTHROPIC, 3.0, 15.0, 0.30, 3.75, 180, 60, 155_000),
        ModelSpec("claude-opus-4-1-20250805", ANTHROPIC, 15.0, 75.0, 1.5, 18.75, 220, 35, 155_000),
        ModelSpec("claude-haiku-4-5-20251001", ANTHROPIC, 1.0, 5.0, 0.10, 1.25, 120, 120, 155_000),
        ModelSpec("gpt-5", OPENAI, 1.25, 10.0, 0.125, 0.0, 150, 70, 240_000, reasoning=True),
        ModelSpec("gpt-5-mini", OPENAI, 0.25, 2.0, 0.025, 0.0, 130, 120, 240_000, reasoning=True),
        ModelSpec("gpt-4.1", OPENAI, 2.0, 8.0, 0.5, 0.0, 220, 90, 240_000),
        ModelSpec(
            "gemini-2.5-pro", GEMINI, 1.25, 10.0, 0.125, 0.0, 200, 80, 700_000,
            long_threshold=LONG_CONTEXT_THRESHOLD, long_input=2.5, long_output=15.0, long_cache_read=0.25,
        ),
        ModelSpec("gemini-2.5-flash", GEMINI, 0.30, 2.5, 0.03, 0.0, 160, 200, 700_000),
    )
}  # fmt: skip

SONNET, OPUS, HAIKU = "claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5-20251001"


def call_cost_usd(
    model: str, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int
) -> float:
    """List-price cost of one call; the long-context tier is chosen on the whole prompt, cache included."""
    spec = MODELS[model]
    prompt = input_tokens + cache_read + cache_write
    if spec.long_threshold is not None and prompt > spec.long_threshold:
        rates = (spec.long_input, spec.long_output, spec.long_cache_read, spec.cache_write)
    else:
        rates = (spec.input, spec.output, spec.cache_read, spec.cache_write)
    total = (
        input_tokens * rates[0] + output_tokens * rates[1] + cache_read * rates[2] + cache_write * rates[3]
    ) / 1_000_000
    return round(total, 10)  # the bridge stores NUMERIC(20, 10)


@dataclass(frozen=True)
class HarnessSpec:
    name: str
    versions: tuple[str, ...]  # oldest first; developers upgrade during the window
    models: tuple[tuple[str, float], ...]  # (model, weight) for a session's main model
    tools: tuple[str, ...]
    base_prompt: tuple[int, int]  # system prompt + tool schemas, tokens
    side_model: str | None = None  # cheap helper calls (titles, command safety checks)
    side_rate: float = 0.0


HARNESSES: dict[str, HarnessSpec] = {
    h.name: h
    for h in (
        HarnessSpec(
            "claude-code", ("2.0.14", "2.0.22", "2.0.27", "2.0.31"),
            ((SONNET, 0.72), (OPUS, 0.2), (HAIKU, 0.08)),
            ("Read", "Edit", "Bash", "Grep", "Glob", "Write", "TodoWrite", "WebFetch"),
            (14_000, 22_000), side_model=HAIKU, side_rate=0.1,
        ),
        HarnessSpec(
            "codex", ("0.50.0", "0.53.0", "0.55.0", "0.58.0"),
            (("gpt-5", 0.65), ("gpt-5-mini", 0.25), ("gpt-4.1", 0.1)),
            ("shell", "apply_patch", "update_plan"), (6_000, 10_000),
        ),
        HarnessSpec(
            "gemini-cli", ("0.10.0", "0.11.3", "0.12.0", "0.13.1"),
            (("gemini-2.5-pro", 0.7), ("gemini-2.5-flash", 0.3)),
            ("read_file", "read_many_files", "run_shell_command", "replace", "search_file_content", "glob"),
            (9_000, 14_000),
        ),
        HarnessSpec(
            "pi", ("0.9.2", "0.10.1", "0.10.4"),
            (
                (SONNET, 0.35), ("gpt-5", 0.25), ("gemini-2.5-pro", 0.2),
                ("gemini-2.5-flash", 0.1), (HAIKU, 0.1),
            ),
            ("read", "bash", "edit", "write"), (2_500, 5_000),
        ),
        HarnessSpec(
            "copilot", ("0.0.349", "0.0.353", "0.0.358"),
            (("gpt-4.1", 0.35), (SONNET, 0.3), ("gpt-5-mini", 0.2), ("gemini-2.5-pro", 0.15)),
            ("view", "str_replace_editor", "bash"), (10_000, 18_000),
        ),
        HarnessSpec(
            "custom-sdk", ("1.3.0", "1.4.0"),
            ((HAIKU, 0.3), ("gpt-5-mini", 0.3), ("gemini-2.5-flash", 0.25), (SONNET, 0.15)),
            ("fetch_diff", "search_code", "post_review_comment"), (2_000, 5_000),
        ),
    )
}  # fmt: skip

# Primary harness of developer i is ROTATION[i % len]: any org of >= 6 people sees every
# harness, and about every third developer uses Claude Code, as in most shops today.
HARNESS_ROTATION: tuple[str, ...] = (
    "claude-code", "codex", "claude-code", "gemini-cli", "copilot",
    "claude-code", "pi", "codex", "custom-sdk", "claude-code",
)  # fmt: skip

# Occasional second harness, tried for a minority of sessions.
SECONDARY_HARNESSES: tuple[str, ...] = ("claude-code", "codex", "gemini-cli", "pi", "copilot")

# CI runs: the Claude Code GitHub Action and `codex exec` on pull requests and nightlies.
CI_HARNESSES: tuple[tuple[str, float], ...] = (("claude-code", 0.6), ("codex", 0.4))
