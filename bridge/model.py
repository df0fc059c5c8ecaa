"""The normalised model call every source adapter produces, and the token arithmetic.

Sources disagree about what "input" and "output" mean; this module is the one place that
turns their numbers into disjoint buckets, so pricing and SQL never have to know.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

Signal = Literal["trace", "log"]
CostEstimation = Literal["metered", "subscription", "unreported"]


class Rejected(ValueError):
    """A record that claims to be a model call but cannot be stored as one.

    Counted and reported in `partial_success`; never takes the rest of the request down.
    """


# What a rejection's reason and example may hold: they are stored (text, JSONB) and sent back
# in an OTLP error_message, so neither may carry NUL, other control characters or invalid UTF-8.
EXAMPLE_MAX_CHARS = 200
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def utf8(value: str) -> bool:
    """True when `value` encodes as UTF-8 (a lone surrogate from a JSON body does not)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_str(value: str) -> str:
    """NUL removed and invalid UTF-8 replaced: what PostgreSQL text and JSONB accept."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not utf8(value):
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def clean_value(value: Any) -> Any:
    """`clean_str` applied to every string, key and nested value; NaN/Infinity as strings."""
    if isinstance(value, str):
        return clean_str(value)
    if isinstance(value, dict):
        return {clean_str(str(k)): clean_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_value(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/Infinity; JSONB would refuse them
    return value


def safe_example(example: dict[str, Any]) -> dict[str, Any]:
    """A rejection example that JSONB accepts: clean, each string cut to EXAMPLE_MAX_CHARS."""

    def cut(value: Any) -> Any:
        if isinstance(value, str):
            return clean_str(value[:EXAMPLE_MAX_CHARS])
        if isinstance(value, dict):
            return {clean_str(str(k)[:EXAMPLE_MAX_CHARS]): cut(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cut(v) for v in value[:20]]
        return clean_value(value)

    result: dict[str, Any] = cut(example)
    return result


def safe_reason(reason: str, cap: int = 500) -> str:
    """A rejection reason fit for a text column and an OTLP error_message: no controls, bounded."""
    return CONTROL_CHARS.sub("?", clean_str(reason[:cap]))


# The classes built per call and per record (these, records.SpanRecord and LogRecord, and
# pricer.Costs) have written __init__s under @dataclass(init=False): mypyc compiles a class's
# own __init__ but leaves the one @dataclass generates interpreted, which cost about a tenth of
# mapping a call (docs/scale.md "Instruction counts"). tests/test_model_inits.py fails when an
# __init__ misses a field, changes the field order or a default.
@dataclass(slots=True, init=False)
class Tokens:
    """Disjoint buckets: input is uncached input, output includes reasoning."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    # Informational sub-counts, already included in the buckets above.
    reasoning: int = 0
    cache_write_1h: int = 0

    def __init__(
        self,
        input: int = 0,
        output: int = 0,
        cache_read: int = 0,
        cache_write: int = 0,
        reasoning: int = 0,
        cache_write_1h: int = 0,
    ) -> None:
        self.input = input
        self.output = output
        self.cache_read = cache_read
        self.cache_write = cache_write
        self.reasoning = reasoning
        self.cache_write_1h = cache_write_1h

    @property
    def prompt_total(self) -> int:
        """Everything the model read: what long-context price tiers are decided on."""
        return self.input + self.cache_read + self.cache_write

    @property
    def total(self) -> int:
        return self.prompt_total + self.output


def normalise_tokens(
    *,
    input_reported: int | None,
    output_reported: int | None,
    cache_read: int | None = None,
    cache_write: int | None = None,
    reasoning: int | None = None,
    input_includes_cache: bool,
    output_includes_reasoning: bool = True,
    cache_write_1h: int | None = None,
) -> Tokens:
    """Convert one source's token semantics into disjoint buckets.

    A source that says its input includes cached tokens but reports an input smaller than
    its cache counts is evidently exclusive: treat it so rather than produce a negative.
    """
    cache_read = cache_read or 0
    cache_write = cache_write or 0
    reasoning = reasoning or 0
    raw_input = input_reported or 0
    raw_output = output_reported or 0
    uncached = raw_input
    if input_includes_cache and raw_input >= cache_read + cache_write:
        uncached = raw_input - cache_read - cache_write
    output = raw_output if output_includes_reasoning else raw_output + reasoning
    if reasoning > output:
        # Reasoning is part of output; a larger reasoning count means output excluded it.
        output += reasoning
    return Tokens(
        input=uncached,
        output=output,
        cache_read=cache_read,
        cache_write=cache_write,
        reasoning=reasoning,
        cache_write_1h=min(cache_write_1h or 0, cache_write),
    )


@dataclass(slots=True, init=False)
class ReportedCost:
    """What the emitter itself said the call cost, if anything (USD)."""

    input: Decimal | None = None
    output: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    total: Decimal | None = None
    estimation: CostEstimation | None = None

    def __init__(
        self,
        input: Decimal | None = None,
        output: Decimal | None = None,
        cache_read: Decimal | None = None,
        cache_write: Decimal | None = None,
        total: Decimal | None = None,
        estimation: CostEstimation | None = None,
    ) -> None:
        self.input = input
        self.output = output
        self.cache_read = cache_read
        self.cache_write = cache_write
        self.total = total
        self.estimation = estimation


@dataclass(slots=True, init=False)
class Identity:
    """Who made a model call and where: user, team, machine, session, workspace and harness."""

    user_id: str | None = None
    team: str | None = None
    machine_id: str | None = None
    session_id: str | None = None
    environment: str | None = None
    workspace_cwd: str | None = None
    workspace_repo: str | None = None
    workspace_branch: str | None = None
    workspace_is_ci: bool = False
    harness_name: str | None = None
    harness_version: str | None = None

    def __init__(
        self,
        user_id: str | None = None,
        team: str | None = None,
        machine_id: str | None = None,
        session_id: str | None = None,
        environment: str | None = None,
        workspace_cwd: str | None = None,
        workspace_repo: str | None = None,
        workspace_branch: str | None = None,
        workspace_is_ci: bool = False,
        harness_name: str | None = None,
        harness_version: str | None = None,
    ) -> None:
        self.user_id = user_id
        self.team = team
        self.machine_id = machine_id
        self.session_id = session_id
        self.environment = environment
        self.workspace_cwd = workspace_cwd
        self.workspace_repo = workspace_repo
        self.workspace_branch = workspace_branch
        self.workspace_is_ci = workspace_is_ci
        self.harness_name = harness_name
        self.harness_version = harness_version


@dataclass(slots=True, init=False)
class ModelCall:
    """One model call mapped from any source: the unit the bridge prices and stores as one row."""

    dedup_key: str
    ts: datetime
    source: str
    signal: Signal
    model: str
    tokens: Tokens
    identity: Identity
    provider: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    api_dialect: str | None = None
    operation: str | None = None
    reported: ReportedCost = field(default_factory=ReportedCost)
    duration_ms: float | None = None
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    stop_reason: str | None = None
    finish_reasons: list[str] | None = None
    trace_id: str | None = None
    span_id: str | None = None
    # The span a call's identity may be inherited from: a span's parent, a log record's span.
    parent_span_id: str | None = None
    event_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        dedup_key: str,
        ts: datetime,
        source: str,
        signal: Signal,
        model: str,
        tokens: Tokens,
        identity: Identity,
        provider: str | None = None,
        request_model: str | None = None,
        response_model: str | None = None,
        api_dialect: str | None = None,
        operation: str | None = None,
        reported: ReportedCost | None = None,
        duration_ms: float | None = None,
        status: Literal["ok", "error"] = "ok",
        error: str | None = None,
        stop_reason: str | None = None,
        finish_reasons: list[str] | None = None,
        trace_id: str | None = None,
        span_id: str | None = None,
        parent_span_id: str | None = None,
        event_id: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.dedup_key = dedup_key
        self.ts = ts
        self.source = source
        self.signal = signal
        self.model = model
        self.tokens = tokens
        self.identity = identity
        self.provider = provider
        self.request_model = request_model
        self.response_model = response_model
        self.api_dialect = api_dialect
        self.operation = operation
        self.reported = ReportedCost() if reported is None else reported
        self.duration_ms = duration_ms
        self.status = status
        self.error = error
        self.stop_reason = stop_reason
        self.finish_reasons = finish_reasons
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.event_id = event_id
        self.attributes = {} if attributes is None else attributes


# Identity and workspace fields a call inherits from its ancestor spans when it lacks them
# (docs/sources.md "Trace context"); never tokens, cost, model or harness.
INHERITED_FIELDS = (
    "user_id",
    "team",
    "session_id",
    "machine_id",
    "environment",
    "workspace_cwd",
    "workspace_repo",
    "workspace_branch",
)


def lacks_key_identity(call: ModelCall) -> bool:
    """No user, session or repository: the dimensions worth waiting for an ancestor to supply.

    A call that has all three is filled (branch, cwd, machine...) only from ancestors already
    stored; one that lacks any waits for them (the writer's trace_waiting)."""
    ident = call.identity
    return not ident.user_id or ident.user_id == "unknown" or not ident.session_id or not ident.workspace_repo


@dataclass(slots=True, init=False)
class SpanContext:
    """A span of a GenAI trace as a link in its chain: its parent, and what descendants may inherit.

    Recorded for spans that are not model calls (Copilot's `invoke_agent`, a framework's run
    span) and for model-call spans with a parent (a log event of that call walks up through it).
    Only the INHERITED_FIELDS of `identity` are read.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    identity: Identity

    def __init__(
        self,
        trace_id: str,
        span_id: str,
        parent_span_id: str | None,
        identity: Identity,
    ) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.identity = identity
