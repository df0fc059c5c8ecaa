"""How one agent session unfolds, call by call.

The dashboards are only convincing if the token mix behaves like a real agent loop: a big
cache write when the system prompt and first files land, cache reads that grow turn by
turn as the conversation accumulates, compaction when the window fills, cold caches after
a long pause, and the odd overloaded or rate-limited call followed by a retry. This module
models that loop on an abstract clock; `generate.py` decides who runs which session, when.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field, replace

from seeder.catalog import (
    ANTHROPIC,
    DIALECTS,
    ERRORS,
    GEMINI,
    MODELS,
    OPENAI,
    STOP_REASONS,
    HarnessSpec,
    ModelSpec,
    call_cost_usd,
)
from seeder.traces import AgentResource, ModelCall, SessionInfo, SyntheticTrace, ToolCall, Usage

NS = 1_000_000_000
MS = 1_000_000
# How long a provider keeps a prompt prefix warm; after a longer pause the next call pays again.
CACHE_TTL_NS = {ANTHROPIC: 300 * NS, OPENAI: 600 * NS, GEMINI: 300 * NS}
MAX_TOOL_SPANS_PER_TRACE = 6
LENGTH_CUTOFF = 8_192  # output tokens of a call that hit max_tokens


@dataclass(frozen=True)
class SessionPlan:
    resource: AgentResource
    session: SessionInfo
    harness: HarnessSpec
    model: ModelSpec
    calls: int
    prompts: int  # user prompts, i.e. traces; the calls are split among them
    long_context: bool = False  # a whole-repository prompt, the only way Gemini crosses 200k
    error_rate: float = 0.02


@dataclass
class _Context:
    """The conversation as the provider sees it: its length and how much of it is cached."""

    base: int
    total: int
    cached: int = 0
    last_end_ns: int | None = None
    main_calls: int = 0
    tool_spans: list[ToolCall] = field(default_factory=list)


def _lognormal(rng: random.Random, median: float, sigma: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, rng.lognormvariate(math.log(median), sigma)))


def span_id(rng: random.Random) -> bytes:
    return (rng.getrandbits(64) or 1).to_bytes(8, "big")


def trace_id(rng: random.Random) -> bytes:
    return (rng.getrandbits(128) or 1).to_bytes(16, "big")


def _split(rng: random.Random, calls: int, prompts: int) -> list[int]:
    prompts = max(1, min(prompts, calls))
    cuts = sorted(rng.sample(range(1, calls), prompts - 1)) if prompts > 1 else []
    bounds = [0, *cuts, calls]
    return [b - a for a, b in itertools.pairwise(bounds)]


def _response_id(rng: random.Random, provider: str) -> str:
    if provider == ANTHROPIC:
        return f"msg_01{rng.getrandbits(96):024x}"
    if provider == OPENAI:
        return f"resp_{rng.getrandbits(192):048x}"
    return f"{rng.getrandbits(96):024x}"


def _cost(plan: SessionPlan, model: str, usage: Usage) -> float:
    if plan.session.cost_estimation == "subscription":
        return 0.0
    return call_cost_usd(
        model, usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens
    )


def _prompt_split(rng: random.Random, spec: ModelSpec, ctx: _Context, start_ns: int) -> tuple[int, int, int]:
    """(uncached input, cache read, cache write) for the next main-model call, per provider caching rules."""
    if ctx.total > spec.compact_at:  # the harness summarises the conversation and starts over
        ctx.total = ctx.base + rng.randint(6_000, 18_000)
        ctx.cached = 0
    if ctx.last_end_ns is None or start_ns - ctx.last_end_ns > CACHE_TTL_NS[spec.provider]:
        ctx.cached = 0
    total = ctx.total
    if spec.provider == ANTHROPIC:  # explicit breakpoints: the new tail is written, a few tokens uncached
        uncached = min(total, rng.randint(1, 12))
        read = min(ctx.cached, total - uncached)
        write = total - read - uncached
        ctx.cached = read + write
        return uncached, read, write
    if spec.provider == OPENAI:  # automatic prefix caching in 128-token steps, nothing billed for writes
        hit = total >= 1024 and rng.random() > 0.05
        read = ctx.cached // 128 * 128 if hit else 0
    else:  # Gemini implicit caching hits less reliably and only partially
        hit = ctx.cached >= 2048 and rng.random() < 0.7
        read = int(ctx.cached * rng.uniform(0.8, 0.98)) if hit else 0
    ctx.cached = total
    return total - read, read, 0


def _duration_ns(rng: random.Random, spec: ModelSpec, prompt: int, output: int) -> int:
    ttft = _lognormal(rng, 2.0 if spec.out_median > 200 else 0.9, 0.5, 0.2, 20.0) + prompt / 60_000
    return int((ttft + output / spec.tokens_per_second) * NS)


def _main_call(
    rng: random.Random, plan: SessionPlan, ctx: _Context, start_ns: int, outcome: str
) -> ModelCall:
    spec = plan.model
    uncached, read, write = _prompt_split(rng, spec, ctx, start_ns)
    if outcome == "length":
        visible = LENGTH_CUTOFF
    elif outcome == "stop":
        visible = int(_lognormal(rng, spec.out_median * 4, 0.8, 20, 12_000))
    elif rng.random() < 0.08:  # writing a whole file through a tool call
        visible = int(_lognormal(rng, spec.out_median * 12, 0.5, 300, 16_000))
    else:
        visible = int(_lognormal(rng, spec.out_median, 0.9, 12, 16_000))
    reasoning = int(_lognormal(rng, spec.out_median * 2.5, 1.0, 0, 30_000)) if spec.reasoning else 0
    usage = Usage(uncached, visible + reasoning, read, write, reasoning)
    end_ns = start_ns + _duration_ns(rng, spec, usage.prompt_tokens, usage.output_tokens)
    ctx.total += visible  # reasoning is not replayed into the next prompt
    ctx.last_end_ns = end_ns
    ctx.main_calls += 1
    return ModelCall(
        span_id=span_id(rng),
        start_ns=start_ns,
        end_ns=end_ns,
        model=spec.name,
        provider=spec.provider,
        dialect=DIALECTS[spec.provider],
        usage=usage,
        cost_usd=_cost(plan, spec.name, usage),
        stop_reason=STOP_REASONS[spec.provider][outcome],
        finish_reason=outcome,
        response_id=_response_id(rng, spec.provider),
    )


def _side_call(rng: random.Random, plan: SessionPlan, start_ns: int) -> ModelCall:
    """A cheap helper call (title, bash safety check) outside the conversation's cache."""
    spec = MODELS[plan.harness.side_model or plan.model.name]
    usage = Usage(int(_lognormal(rng, 900, 0.6, 120, 4_000)), int(_lognormal(rng, 40, 0.7, 3, 300)))
    end_ns = start_ns + _duration_ns(rng, spec, usage.prompt_tokens, usage.output_tokens)
    return ModelCall(
        span_id=span_id(rng),
        start_ns=start_ns,
        end_ns=end_ns,
        model=spec.name,
        provider=spec.provider,
        dialect=DIALECTS[spec.provider],
        usage=usage,
        cost_usd=_cost(plan, spec.name, usage),
        stop_reason=STOP_REASONS[spec.provider]["stop"],
        finish_reason="stop",
        response_id=_response_id(rng, spec.provider),
    )


def _failed_call(rng: random.Random, plan: SessionPlan, start_ns: int) -> ModelCall:
    """A call the provider refused; it carries zero usage so it still becomes an error row."""
    spec = plan.model
    error_type, message = rng.choice(ERRORS[spec.provider])
    seconds = _lognormal(rng, 60.0, 0.3, 20, 600) if error_type == "timeout" else rng.uniform(0.2, 4.0)
    return ModelCall(
        span_id=span_id(rng),
        start_ns=start_ns,
        end_ns=start_ns + int(seconds * NS),
        model=spec.name,
        provider=spec.provider,
        dialect=DIALECTS[spec.provider],
        usage=Usage(),
        cost_usd=0.0,
        stop_reason=None,
        finish_reason=None,
        response_id=None,
        error_type=error_type,
        error_message=message,
    )


def _tool_result_tokens(rng: random.Random, plan: SessionPlan, main_calls: int) -> int:
    """Early turns explore (file reads, searches), later ones edit and test: results shrink."""
    exploration = 0.25 + 2.0 * math.exp(-main_calls / 6)
    median = 1_400 * exploration * (3 if plan.long_context else 1)
    return int(_lognormal(rng, median, 1.0, 20, 40_000))


def _tool_span(rng: random.Random, plan: SessionPlan, start_ns: int, gap_ns: int) -> ToolCall:
    prefix = "toolu_01" if plan.model.provider == ANTHROPIC else "call_"
    return ToolCall(
        span_id=span_id(rng),
        start_ns=start_ns + 2 * MS,
        end_ns=start_ns + max(3 * MS, gap_ns - 2 * MS),
        name=rng.choice(plan.harness.tools),
        call_id=f"{prefix}{rng.getrandbits(96):024x}",
    )


def _run_trace(rng: random.Random, plan: SessionPlan, ctx: _Context, n: int, start_ns: int) -> SyntheticTrace:
    t = start_ns + rng.randint(20, 400) * MS
    ctx.total += int(_lognormal(rng, 120, 1.0, 8, 4_000))  # the user's prompt
    calls: list[ModelCall] = []
    tools: list[ToolCall] = []
    for j in range(n):
        last = j == n - 1
        roll = rng.random()
        if not last and roll < plan.error_rate:
            call = _failed_call(rng, plan, t)
            gap = int(rng.uniform(1.0, 10.0) * NS)  # client backoff before the retry
        elif not last and roll < plan.error_rate + plan.harness.side_rate:
            call = _side_call(rng, plan, t)
            gap = int(rng.uniform(0.05, 0.6) * NS)
        else:
            outcome = "stop" if last else ("length" if roll > 0.996 else "tool_call")
            call = _main_call(rng, plan, ctx, t, outcome)
            gap = int(_lognormal(rng, 3.0, 1.2, 0.2, 240.0) * NS)  # the tool runs
            if not last:
                ctx.total += _tool_result_tokens(rng, plan, ctx.main_calls)
                if len(tools) < MAX_TOOL_SPANS_PER_TRACE and rng.random() < 0.3:
                    tools.append(_tool_span(rng, plan, call.end_ns, gap))
        calls.append(call)
        t = call.end_ns + (0 if last else gap)
    return SyntheticTrace(
        trace_id=trace_id(rng),
        root_span_id=span_id(rng),
        resource=plan.resource,
        session=plan.session,
        agent_model=plan.model.name,
        agent_provider=plan.model.provider,
        start_ns=start_ns,
        end_ns=t + rng.randint(5, 80) * MS,
        model_calls=tuple(calls),
        tool_calls=tuple(tools),
    )


def _shifted(trace: SyntheticTrace, delta: int) -> SyntheticTrace:
    return replace(
        trace,
        start_ns=trace.start_ns + delta,
        end_ns=trace.end_ns + delta,
        model_calls=tuple(
            replace(c, start_ns=c.start_ns + delta, end_ns=c.end_ns + delta) for c in trace.model_calls
        ),
        tool_calls=tuple(
            replace(c, start_ns=c.start_ns + delta, end_ns=c.end_ns + delta) for c in trace.tool_calls
        ),
    )


def simulate(
    rng: random.Random, plan: SessionPlan, start_ns: int, latest_end_ns: int
) -> list[SyntheticTrace]:
    """Run a session from `start_ns`; if it would outlive `latest_end_ns` it is moved earlier, whole."""
    base = rng.randint(*plan.harness.base_prompt)
    if plan.long_context:
        base += rng.randint(140_000, 180_000)
    ctx = _Context(base=base, total=base)
    traces: list[SyntheticTrace] = []
    t = start_ns
    for k, n in enumerate(_split(rng, plan.calls, plan.prompts)):
        if k:
            t += int(_lognormal(rng, 75.0, 0.9, 8.0, 1_200.0) * NS)  # the developer reads and types
        trace = _run_trace(rng, plan, ctx, n, t)
        traces.append(trace)
        t = trace.end_ns
    overrun = t - latest_end_ns
    if overrun > 0:
        traces = [_shifted(trace, -overrun) for trace in traces]
    return traces
