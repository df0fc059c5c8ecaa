"""GitHub Copilot Chat (VS Code) agent turns as its OTel SDK exports them: usage on `chat` spans,
user and workspace only on the `invoke_agent` span that wraps them.

Sources read (microsoft/vscode, extensions/copilot/):
- docs/monitoring/agent_monitoring.md: the span tree, per-span attribute tables, resource
  attributes (`service.name=copilot-chat`, `service.version`, `session.id`), subagent nesting
  (`invoke_agent` > `execute_tool runSubagent` > `invoke_agent Explore`), span kinds (chat CLIENT,
  execute_tool INTERNAL; invoke_agent is started with `SpanKind.INTERNAL`);
- src/extension/intents/node/toolCallingLoop.ts: the `invoke_agent {agentName}` span, started with
  the git attributes (`workspaceMetadataToOTelAttributes`) and, when the turn ends, the summed
  usage, `copilot_chat.turn_count` and `gen_ai.response.model`;
- src/platform/otel/common/workspaceOTelMetadata.ts: `github.copilot.git.repository` (the
  normalized remote URL, not owner/name), `.branch`, `.commit_sha`, `github.copilot.github.org`
  (the owner, only for GitHub hosts), each dual-emitted with the legacy `copilot_chat.repo.*` key;
- src/platform/otel/common/otelIdentity.ts and node/test/otelIdentity.spec.ts: with
  `captureIdentity` on, `user.name` (the GitHub account label) is put on `invoke_agent` spans,
  top-level and subagent alike, and `process.user.name` (OS user) and `host.name` on the resource;
  with it off, neither exists anywhere;
- src/extension/prompt/node/chatMLFetcher.ts: the `chat {model}` span's usage, set as numbers
  (int64 on the wire): `gen_ai.usage.input_tokens` = CAPI `prompt_tokens` (cache included),
  `gen_ai.usage.cache_read.input_tokens` only when non-zero, reasoning only when non-zero,
  `gen_ai.response.id` = the request id the extension generated (a UUID, not `chatcmpl-...`),
  `gen_ai.response.finish_reasons` = ["stop"], `copilot_chat.time_to_first_token` in ms;
- src/platform/otel/common/genAiAttributes.ts: every key's spelling, including the dual-emitted
  `gen_ai.usage.reasoning.output_tokens` / legacy `gen_ai.usage.reasoning_tokens`.

Chat spans carry no user and no repository: only the enclosing `invoke_agent` does.

Export order: the SDK's BatchSpanProcessor queues spans when they *end*, so a turn's chat and tool
spans (and a subagent's whole subtree) are queued before the `invoke_agent` span that wraps them,
and a turn longer than the batch delay (5 s by default) reaches the receiver as several exports,
the parent in the last. `AgentRun.exports` splits a run that way, and the other ways a receiver may
see it (parent first after a retry or a collector's reordering, one span per request).

`ChatRecord.expected` is the disjoint split (`bridge.model.Tokens` semantics: input excludes both
cache buckets, output includes reasoning) computed from the counts given to the builder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.support.adapters import kvs, traces
from tests.support.otlp import NOW_NS

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

AGENT_NAME = "GitHub Copilot Chat"  # gen_ai.agent.name of the foreground agent-mode invoke_agent
CHAT_AGENT_NAME = "panel/editAgent"  # chat spans get the fetcher's debugName as gen_ai.agent.name
SERVER_ADDRESS = "api.githubcopilot.com"

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


def _hex(seed: str, label: str, chars: int) -> str:
    return hashlib.sha256(f"{seed}/{label}".encode()).hexdigest()[:chars]


def _uuid(seed: str, label: str) -> str:
    h = _hex(seed, label, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _server_request_id(seed: str, label: str) -> str:
    """A GitHub `x-github-request-id`: colon-separated upper-case hex groups."""
    h = _hex(seed, label, 26).upper()
    return f"{h[:4]}:{h[4:9]}:{h[9:16]}:{h[16:23]}:{h[23:26]}"


def _span(
    trace_id: str,
    span_id: str,
    parent: str,
    name: str,
    kind: Span.SpanKind.ValueType,
    attrs: Mapping[str, Any],
    start_ns: int,
    end_ns: int,
    ok: bool,
) -> Span:
    return Span(
        trace_id=bytes.fromhex(trace_id),
        span_id=bytes.fromhex(span_id),
        parent_span_id=bytes.fromhex(parent),
        name=name,
        kind=kind,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=end_ns,
        attributes=kvs(dict(attrs)),
        status=Status(code=Status.STATUS_CODE_OK if ok else Status.STATUS_CODE_UNSET),
    )


def workspace_attributes(
    repo: str | None, branch: str | None, org: str | None, commit: str | None
) -> dict[str, Any]:
    """`workspaceMetadataToOTelAttributes`: each value under the legacy and the canonical key."""
    attrs: dict[str, Any] = {}
    if branch:
        attrs["copilot_chat.repo.head_branch_name"] = branch
        attrs["github.copilot.git.branch"] = branch
    if commit:
        attrs["copilot_chat.repo.head_commit_hash"] = commit
        attrs["github.copilot.git.commit_sha"] = commit
    if repo:
        attrs["copilot_chat.repo.remote_url"] = repo
        attrs["github.copilot.git.repository"] = repo
        if org:
            attrs["github.copilot.github.org"] = org
    return attrs


# The keys a chat row should inherit from its invoke_agent ancestor.
INHERITABLE_KEYS = (
    "user.name",
    "github.copilot.git.repository",
    "github.copilot.git.branch",
    "github.copilot.git.commit_sha",
    "github.copilot.github.org",
    "copilot_chat.repo.remote_url",
    "copilot_chat.repo.head_branch_name",
    "copilot_chat.repo.head_commit_hash",
    "copilot_chat.chat_session_id",
    "copilot_chat.parent_chat_session_id",
)

DEFAULT_CHATS = (
    ChatCall(input_tokens=18000, output_tokens=420, cache_read=12000),
    ChatCall(input_tokens=21500, output_tokens=900, cache_read=17800, reasoning=256),
)


class _Builder:
    def __init__(self, seed: str, trace_id: str, conversation_id: str, parent_totals: bool) -> None:
        self.seed = seed
        self.trace_id = trace_id
        self.conversation_id = conversation_id
        self.parent_totals = parent_totals
        self.spans: list[Span] = []
        self.chats: list[ChatRecord] = []
        self.agents: list[str] = []
        self.counter = 0

    def next_id(self) -> str:
        self.counter += 1
        return _hex(self.seed, f"span-{self.counter}", 16)

    def chat(
        self, call: ChatCall, parent: str, agent_attrs: dict[str, Any], chat_agent_name: str, start_ns: int
    ) -> int:
        span_id = self.next_id()
        response_id = _uuid(self.seed, f"response-{span_id}")
        response_model = call.response_model or call.model
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "github",
            "gen_ai.request.model": call.model,
            "gen_ai.conversation.id": self.conversation_id,
            "gen_ai.request.max_tokens": 16384,
            "copilot_chat.request.max_prompt_tokens": 128000,
            "server.address": SERVER_ADDRESS,
            "gen_ai.agent.name": chat_agent_name,
            "gen_ai.usage.input_tokens": call.input_tokens,
            "gen_ai.usage.output_tokens": call.output_tokens,
            "gen_ai.response.model": response_model,
            "gen_ai.response.id": response_id,
            "gen_ai.response.finish_reasons": ["stop"],
            "copilot_chat.time_to_first_token": call.ttft_ms,
            "copilot_chat.server_request_id": _server_request_id(self.seed, span_id),
        }
        # Set only when non-zero, as the fetcher does.
        if call.cache_read:
            attrs["gen_ai.usage.cache_read.input_tokens"] = call.cache_read
        if call.cache_write:
            attrs["gen_ai.usage.cache_creation.input_tokens"] = call.cache_write
        if call.reasoning:
            attrs["gen_ai.usage.reasoning_tokens"] = call.reasoning
            attrs["gen_ai.usage.reasoning.output_tokens"] = call.reasoning
        end_ns = start_ns + call.duration_ms * 1_000_000
        self.spans.append(
            _span(
                self.trace_id,
                span_id,
                parent,
                f"chat {call.model}",
                Span.SPAN_KIND_CLIENT,
                attrs,
                start_ns,
                end_ns,
                False,
            )
        )
        self.chats.append(
            ChatRecord(
                span_id=span_id,
                parent_span_id=parent,
                agent_span_id=parent,
                response_id=response_id,
                request_model=call.model,
                response_model=response_model,
                expected=expected_buckets(call),
                inherited={k: agent_attrs[k] for k in INHERITABLE_KEYS if k in agent_attrs},
            )
        )
        return end_ns

    def tool(self, name: str, parent: str, start_ns: int, duration_ms: int = 50, span_id: str = "") -> int:
        span_id = span_id or self.next_id()
        attrs = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.type": "function",
            "gen_ai.tool.call.id": f"call_{_hex(self.seed, 'call-' + span_id, 24)}",
        }
        end_ns = start_ns + duration_ms * 1_000_000
        self.spans.append(
            _span(
                self.trace_id,
                span_id,
                parent,
                f"execute_tool {name}",
                Span.SPAN_KIND_INTERNAL,
                attrs,
                start_ns,
                end_ns,
                True,
            )
        )
        return end_ns

    def agent(
        self,
        *,
        name: str,
        parent: str,
        chats: Sequence[ChatCall],
        tools: Sequence[str],
        base_attrs: dict[str, Any],
        start_ns: int,
        chat_agent_name: str,
        subagent: tuple[str, Sequence[ChatCall]] | None,
        subagent_attrs: dict[str, Any],
    ) -> tuple[str, int]:
        """An invoke_agent span and its subtree; returns (span id, end ns). Children are appended
        as they end, the agent span itself last."""
        span_id = self.next_id()
        self.agents.append(span_id)
        chat_session_id = _uuid(self.seed, f"chat-session-{span_id}")
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": "github",
            "gen_ai.agent.name": name,
            "gen_ai.conversation.id": self.conversation_id,
            "copilot_chat.session_id": self.conversation_id,
            "copilot_chat.chat_session_id": chat_session_id,
            "github.copilot.agent.type": "builtin",
            **base_attrs,
        }
        if chats:
            attrs["gen_ai.request.model"] = chats[0].model
        t = start_ns + 40_000_000  # prompt building before the first request
        first_chat_index = len(self.chats)
        for i, call in enumerate(chats):
            t = self.chat(call, span_id, attrs, chat_agent_name, t) + 5_000_000
            if i == 0 and subagent is not None:
                sub_name, sub_chats = subagent
                tool_id = self.next_id()
                sub_attrs = {**subagent_attrs, "copilot_chat.parent_chat_session_id": chat_session_id}
                _, sub_end = self.agent(
                    name=sub_name,
                    parent=tool_id,
                    chats=sub_chats,
                    tools=tools,
                    base_attrs=sub_attrs,
                    start_ns=t + 2_000_000,
                    chat_agent_name="runSubagent",
                    subagent=None,
                    subagent_attrs={},
                )
                t = (
                    self.tool("runSubagent", span_id, t, (sub_end + 3_000_000 - t) // 1_000_000, tool_id)
                    + 5_000_000
                )
            if tools and i < len(chats) - 1:
                t = self.tool(tools[i % len(tools)], span_id, t) + 5_000_000
        own = self.chats[first_chat_index:]
        own = [c for c in own if c.agent_span_id == span_id]
        totals: dict[str, Any] = {"copilot_chat.turn_count": len(chats)}
        if self.parent_totals and own:
            # The loop's own sums over its chat calls (subagent calls excluded).
            calls = list(chats)
            totals |= {
                "gen_ai.usage.input_tokens": sum(c.input_tokens for c in calls),
                "gen_ai.usage.output_tokens": sum(c.output_tokens for c in calls),
                "gen_ai.response.model": own[-1].response_model,
                "gen_ai.response.id": own[-1].response_id,
            }
            if any(c.cache_read for c in calls):
                totals["gen_ai.usage.cache_read.input_tokens"] = sum(c.cache_read for c in calls)
            if any(c.cache_write for c in calls):
                totals["gen_ai.usage.cache_creation.input_tokens"] = sum(c.cache_write for c in calls)
            if any(c.reasoning for c in calls):
                totals["gen_ai.usage.reasoning.output_tokens"] = sum(c.reasoning for c in calls)
        end_ns = t + 20_000_000
        self.spans.append(
            _span(
                self.trace_id,
                span_id,
                parent,
                f"invoke_agent {name}",
                Span.SPAN_KIND_INTERNAL,
                attrs | totals,
                start_ns,
                end_ns,
                True,
            )
        )
        return span_id, end_ns


def copilot_agent_run(
    chats: Sequence[ChatCall] = DEFAULT_CHATS,
    *,
    user: str | None = "octocat",
    repo: str | None = "https://github.com/acme/widgets",
    branch: str | None = "main",
    org: str | None = "acme",
    commit: str | None = "9fceb02d0ae598e95dc970b74767f19372d61af8",
    tools: Sequence[str] = ("read_file",),
    subagent: Sequence[ChatCall] | None = None,
    subagent_name: str = "Explore",
    agent_name: str = AGENT_NAME,
    resource: Mapping[str, Any] | None = None,
    seed: str = "copilot-run-1",
    start_ns: int = NOW_NS,
    parent_totals: bool = True,
    parent_span_id: str = "",
) -> AgentRun:
    """One agent-mode turn: `invoke_agent {agent_name}` wrapping one `chat {model}` per `chats`,
    an `execute_tool` between consecutive chats (names cycled from `tools`), and, when `subagent`
    is given, `execute_tool runSubagent` > `invoke_agent {subagent_name}` > its chats right after
    the first chat.

    `user` is `user.name` on every invoke_agent span (None: identity capture off, and then the
    default resource has no `process.user.name` either). `repo`, `branch`, `org`, `commit` are the
    git attributes on every invoke_agent span (None omits one). `parent_totals` adds the turn's
    summed usage and last response id/model to the invoke_agent spans, as newer builds do.
    `seed` makes the ids: runs with different seeds have different trace, span and response ids.
    `parent_span_id` parents the root (e.g. under an `invoke_agent copilotcli` wrapper).
    """
    trace_id = _hex(seed, "trace", 32)
    builder = _Builder(seed, trace_id, _uuid(seed, "conversation"), parent_totals)
    base = workspace_attributes(repo, branch, org, commit)
    if user is not None:
        base["user.name"] = user
    if resource is None:
        resource = RESOURCE_WITH_IDENTITY if user is not None else RESOURCE
    root_id, _ = builder.agent(
        name=agent_name,
        parent=parent_span_id,
        chats=chats,
        tools=tools,
        base_attrs=base,
        start_ns=start_ns,
        chat_agent_name=CHAT_AGENT_NAME,
        subagent=(subagent_name, subagent) if subagent is not None else None,
        subagent_attrs=base,
    )
    return AgentRun(
        trace_id=trace_id,
        root_span_id=root_id,
        resource=dict(resource),
        spans=builder.spans,
        chats=builder.chats,
        agent_span_ids=builder.agents,
    )


def attributes_of(span: Span) -> dict[str, Any]:
    """A span's attributes as Python values (ints stay ints, arrays become lists)."""

    def plain(value: Any) -> Any:
        which = value.WhichOneof("value")
        if which == "array_value":
            return [plain(v) for v in value.array_value.values]
        return getattr(value, which) if which else None

    return {kv.key: plain(kv.value) for kv in span.attributes}
