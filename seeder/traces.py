"""Plain records of synthetic traces, independent of any wire format.

Keeping the generator's output as typed data (not protobuf) lets tests check the invariants
the dashboards rely on, token sums and time windows, without decoding OTLP, and lets
`otlp.py` own every attribute name in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentResource:
    """What the emitting process says about itself; one OTLP Resource."""

    service_name: str
    service_version: str
    environment: str
    user_id: str
    team: str
    machine_id: str
    harness_name: str
    harness_version: str


@dataclass(frozen=True)
class Usage:
    """Disjoint buckets: input is uncached input, output includes reasoning."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
        )

    @property
    def prompt_tokens(self) -> int:
        """The whole prompt the model saw; this is what selects long-context price tiers."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True)
class SessionInfo:
    """Where and how a session ran; repeated on every span of every trace of the session."""

    session_id: str
    cwd: str
    repo: str
    branch: str
    is_ci: bool
    cost_estimation: str  # "metered" or "subscription"


@dataclass(frozen=True)
class ModelCall:
    span_id: bytes
    start_ns: int
    end_ns: int
    model: str
    provider: str
    dialect: str
    usage: Usage
    cost_usd: float  # list price for metered rows, 0.0 for subscription rows and failed calls
    stop_reason: str | None
    finish_reason: str | None
    response_id: str | None
    error_type: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class ToolCall:
    span_id: bytes
    start_ns: int
    end_ns: int
    name: str
    call_id: str


@dataclass(frozen=True)
class SyntheticTrace:
    """One user prompt handled by an agent: an invoke_agent root over its model and tool calls."""

    trace_id: bytes
    root_span_id: bytes
    resource: AgentResource
    session: SessionInfo
    agent_model: str
    agent_provider: str
    start_ns: int
    end_ns: int
    model_calls: tuple[ModelCall, ...]
    tool_calls: tuple[ToolCall, ...]

    @property
    def usage(self) -> Usage:
        total = Usage()
        for call in self.model_calls:
            total = total + call.usage
        return total

    @property
    def cost_usd(self) -> float:
        return round(sum(call.cost_usd for call in self.model_calls), 10)

    @property
    def span_count(self) -> int:
        return 1 + len(self.model_calls) + len(self.tool_calls)
