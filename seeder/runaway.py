"""One runaway session at the seed's "now", so the lab shows a firing alert (docs/alerts.md).

A developer's agent loops on Claude Opus for the last 45 minutes: a turn every 90 seconds,
three large-context model calls per turn, about $80 in all, so its cost per hour is above
`alert_runaway_sessions`' fixed cap ($50/h) whatever the developer's history. Sent over
real OTLP like the rest of the seed (seeder.send), with the same record types, so the
bridge maps, prices and rolls it up exactly like any other session. Its trace and span ids
do not depend on "now", so seeding again is a replay the bridge deduplicates, like the rest.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from bridge import config
from seeder.catalog import ANTHROPIC, DIALECTS, MODELS, STOP_REASONS
from seeder.generate import _to_ns
from seeder.otlp import to_requests
from seeder.send import Protocol, SendResult, send
from seeder.traces import AgentResource, ModelCall, SessionInfo, SyntheticTrace, Usage

SESSION_ID = "seed-runaway-session"
MODEL = "claude-opus-4-1-20250805"
TURNS = 30
TURN_SECONDS = 90
CALLS_PER_TURN = 3
USAGE = Usage(input_tokens=20_000, output_tokens=4_000, cache_read_tokens=150_000, cache_write_tokens=10_000)
RESOURCE = AgentResource(
    service_name="claude-code",
    service_version="2.0.14",
    environment="prod",
    user_id="runaway.rita@example.com",
    team="platform",
    machine_id="0" * 31 + "1",
    harness_name="claude-code",
    harness_version="2.0.14",
)


def _id(text: str, size: int) -> bytes:
    return hashlib.sha256(text.encode()).digest()[:size]


def _cost(usage: Usage) -> float:
    spec = MODELS[MODEL]
    per_million = (
        usage.input_tokens * spec.input
        + usage.output_tokens * spec.output
        + usage.cache_read_tokens * spec.cache_read
        + usage.cache_write_tokens * spec.cache_write
    )
    return round(per_million / 1_000_000, 10)


def runaway_traces(now: datetime) -> list[SyntheticTrace]:
    """The session's turns, the last one ending a minute before `now`."""
    session = SessionInfo(
        session_id=SESSION_ID,
        cwd="/home/rita/src/billing-service",
        repo="github.com/example/billing-service",
        branch="fix/retry-loop",
        is_ci=False,
        cost_estimation="metered",
    )
    first = now - timedelta(seconds=TURNS * TURN_SECONDS + 60)
    traces = []
    for turn in range(TURNS):
        start = first + timedelta(seconds=turn * TURN_SECONDS)
        calls = []
        for n in range(CALLS_PER_TURN):
            begin = start + timedelta(seconds=n * 25)
            calls.append(
                ModelCall(
                    span_id=_id(f"{SESSION_ID}:{turn}:{n}", 8),
                    start_ns=_to_ns(begin),
                    end_ns=_to_ns(begin + timedelta(seconds=20)),
                    model=MODEL,
                    provider=ANTHROPIC,
                    dialect=DIALECTS[ANTHROPIC],
                    usage=USAGE,
                    cost_usd=_cost(USAGE),
                    stop_reason=STOP_REASONS[ANTHROPIC]["tool_call"],
                    finish_reason="tool_call",
                    response_id=f"msg_runaway_{turn}_{n}",
                )
            )
        traces.append(
            SyntheticTrace(
                trace_id=_id(f"{SESSION_ID}:{turn}", 16),
                root_span_id=_id(f"{SESSION_ID}:{turn}:root", 8),
                resource=RESOURCE,
                session=session,
                agent_model=MODEL,
                agent_provider=ANTHROPIC,
                start_ns=_to_ns(start),
                end_ns=_to_ns(start + timedelta(seconds=80)),
                model_calls=tuple(calls),
                tool_calls=(),
            )
        )
    return traces


def send_runaway(
    endpoint: str,
    now: datetime,
    protocol: Protocol = "grpc",
    timeout: float = config.SEED_TIMEOUT_SECONDS,
) -> SendResult:
    """Send the runaway session; `result.model_calls` rows to expect."""
    return send(to_requests(runaway_traces(now)), endpoint, protocol, timeout)
