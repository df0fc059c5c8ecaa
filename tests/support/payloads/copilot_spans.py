"""The spans of a GitHub Copilot Chat agent turn, attribute by attribute: the seeded ids, the
`invoke_agent` / `chat` / `execute_tool` spans and their attribute tables, and the reader that
turns a span's attributes back into Python values.

Kept apart from the public builder (copilot.py) and the run records (copilot_run.py) because this
is where the wire detail lives: every key below is spelled as the extension spells it, so a change
to what the extension emits is made here and nowhere else.

Sources read (microsoft/vscode, extensions/copilot/):
- docs/monitoring/agent_monitoring.md: the span tree, per-span attribute tables, subagent nesting
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
  top-level and subagent alike; with it off, it exists nowhere;
- src/extension/prompt/node/chatMLFetcher.ts: the `chat {model}` span's usage, set as numbers
  (int64 on the wire): `gen_ai.usage.input_tokens` = CAPI `prompt_tokens` (cache included),
  `gen_ai.usage.cache_read.input_tokens` only when non-zero, reasoning only when non-zero,
  `gen_ai.response.id` = the request id the extension generated (a UUID, not `chatcmpl-...`),
  `gen_ai.response.finish_reasons` = ["stop"], `copilot_chat.time_to_first_token` in ms;
- src/platform/otel/common/genAiAttributes.ts: every key's spelling, including the dual-emitted
  `gen_ai.usage.reasoning.output_tokens` / legacy `gen_ai.usage.reasoning_tokens`.

Chat spans carry no user and no repository: only the enclosing `invoke_agent` does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.support.adapters import kvs
from tests.support.payloads.copilot_run import ChatCall, ChatRecord, expected_buckets

SERVER_ADDRESS = "api.githubcopilot.com"


def seeded_hex(seed: str, label: str, chars: int) -> str:
    """`chars` hex digits derived from (seed, label): the same run always gets the same ids."""
    return hashlib.sha256(f"{seed}/{label}".encode()).hexdigest()[:chars]


def seeded_uuid(seed: str, label: str) -> str:
    """A version-4-shaped UUID derived from (seed, label), like the ids the extension generates."""
    h = seeded_hex(seed, label, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _server_request_id(seed: str, label: str) -> str:
    """A GitHub `x-github-request-id`: colon-separated upper-case hex groups."""
    h = seeded_hex(seed, label, 26).upper()
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


class RunBuilder:
    """Appends one run's spans in the order they end, and the `ChatRecord` of each chat span."""

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
        return seeded_hex(self.seed, f"span-{self.counter}", 16)

    def chat(
        self, call: ChatCall, parent: str, agent_attrs: dict[str, Any], chat_agent_name: str, start_ns: int
    ) -> int:
        span_id = self.next_id()
        response_id = seeded_uuid(self.seed, f"response-{span_id}")
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
            "gen_ai.tool.call.id": f"call_{seeded_hex(self.seed, 'call-' + span_id, 24)}",
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
        chat_session_id = seeded_uuid(self.seed, f"chat-session-{span_id}")
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


def attributes_of(span: Span) -> dict[str, Any]:
    """A span's attributes as Python values (ints stay ints, arrays become lists)."""

    def plain(value: Any) -> Any:
        which = value.WhichOneof("value")
        if which == "array_value":
            return [plain(v) for v in value.array_value.values]
        return getattr(value, which) if which else None

    return {kv.key: plain(kv.value) for kv in span.attributes}
