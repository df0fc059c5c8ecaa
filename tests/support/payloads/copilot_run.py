"""What one GitHub Copilot Chat agent turn is to a test: the calls it is built from, the records a
test asserts against, and the export requests a receiver gets for it.

Kept apart from the span construction (copilot_spans.py) so that the shapes the tests read
(`ChatCall`, `ChatRecord`, `Buckets`, `AgentRun`) can be found without wading through the
attribute tables; tests import them through tests/support/payloads/copilot.py.

Resource and scope (microsoft/vscode, extensions/copilot/): docs/monitoring/agent_monitoring.md
lists the resource attributes (`service.name=copilot-chat`, `service.version`, `session.id`);
src/platform/otel/common/otelIdentity.ts (and node/test/otelIdentity.spec.ts): with
`captureIdentity` on, `process.user.name` (OS user) and `host.name` are on the resource; with it
off, neither exists.

Export order: the SDK's BatchSpanProcessor queues spans when they *end*, so a turn's chat and tool
spans (and a subagent's whole subtree) are queued before the `invoke_agent` span that wraps them,
and a turn longer than the batch delay (5 s by default) reaches the receiver as several exports,
the parent in the last. `AgentRun.exports` splits a run that way, and the other ways a receiver may
see it (parent first after a retry or a collector's reordering, one span per request).

`ChatRecord.expected` is the disjoint split (`bridge.model.Tokens` semantics: input excludes both
cache buckets, output includes reasoning) computed from the counts given to the builder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.adapters import traces

# Resource of the VS Code extension's SDK; `session.id` is per VS Code window.
RESOURCE: dict[str, Any] = {
    "service.name": "copilot-chat",
    "service.version": "0.45.1",
    "session.id": "6f0c2b1e-93d4-4c57-8a1e-2d7b5c9e4f10",
}
# With `github.copilot.chat.otel.captureIdentity` on: the detected OS user and host are added.
RESOURCE_WITH_IDENTITY: dict[str, Any] = {
    **RESOURCE,
    "process.user.name": "ana",
    "host.name": "ana-mbp.local",
}
# The Copilot CLI runtime's own spans (terminal sessions, or the SDK under `invoke_agent copilotcli`).
CLI_RESOURCE: dict[str, Any] = {"service.name": "github-copilot", "service.version": "1.0.4"}
# Instrumentation scope of the extension's tracer (the name is not documented; a plausible one).
SCOPE = "copilot-chat"

ExportOrder = Literal["one", "children_first", "parent_first", "per_span"]


@dataclass(frozen=True)
class ChatCall:
    """One LLM request of a turn, with the counts CAPI reports for it.

    `input_tokens` is `prompt_tokens`: everything the model read, cache read and cache creation
    included. `output_tokens` is `completion_tokens`, reasoning included.
    """

    input_tokens: int
    output_tokens: int
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0
    model: str = "gpt-4o"
    response_model: str | None = None  # defaults to `model`
    duration_ms: int = 3000
    ttft_ms: int = 450


@dataclass(frozen=True)
class Buckets:
    """The disjoint split a bridge row should hold (`bridge.model.Tokens` semantics)."""

    input: int
    output: int
    cache_read: int
    cache_write: int
    reasoning: int


def expected_buckets(call: ChatCall) -> Buckets:
    return Buckets(
        input=call.input_tokens - call.cache_read - call.cache_write,
        output=call.output_tokens,
        cache_read=call.cache_read,
        cache_write=call.cache_write,
        reasoning=call.reasoning,
    )


@dataclass(frozen=True)
class ChatRecord:
    """What the tests can assert about one chat span of a run."""

    span_id: str
    parent_span_id: str
    agent_span_id: str  # the nearest invoke_agent ancestor
    response_id: str
    request_model: str
    response_model: str
    expected: Buckets
    # The identity/workspace attributes of the nearest invoke_agent ancestor (what a row inherits).
    inherited: dict[str, Any]


@dataclass
class AgentRun:
    """The spans of one agent turn, in the order they end (the order an SDK queues them)."""

    trace_id: str
    root_span_id: str
    resource: dict[str, Any]
    spans: list[Span]
    chats: list[ChatRecord]
    agent_span_ids: list[str] = field(default_factory=list)  # root first, then subagents

    def span(self, span_id: str) -> Span:
        return next(s for s in self.spans if s.span_id.hex() == span_id)

    def exports(self, order: ExportOrder = "children_first") -> list[ExportTraceServiceRequest]:
        """The requests a receiver gets for this run.

        - "one": every span in one request, in end order (a short turn within one batch);
        - "children_first": the root's descendants in one request, then the root alone (a turn
          longer than the batch delay: the BatchSpanProcessor sent the children before the
          parent ended);
        - "parent_first": the root alone, then its descendants (a retried or reordered delivery);
        - "per_span": one request per span, in end order.
        """
        root = [s for s in self.spans if s.span_id.hex() == self.root_span_id]
        rest = [s for s in self.spans if s.span_id.hex() != self.root_span_id]
        groups: list[list[Span]]
        if order == "one":
            groups = [list(self.spans)]
        elif order == "children_first":
            groups = [rest, root]
        elif order == "parent_first":
            groups = [root, rest]
        elif order == "per_span":
            groups = [[s] for s in self.spans]
        else:  # pragma: no cover - Literal guards this
            raise ValueError(order)
        return [traces(self.resource, group, scope=SCOPE) for group in groups if group]
