"""GitHub Copilot Chat (VS Code) agent turns as its OTel SDK exports them: usage on `chat` spans,
user and workspace only on the `invoke_agent` span that wraps them.

This is the module the tests import: `copilot_agent_run` builds a turn, and the names they use
with it are re-exported here so one import path serves them all. The pieces live by concern:
- copilot_run.py: the resource and scope, `ChatCall` (what the builder is given), the records
  the tests assert against (`ChatRecord`, `Buckets`, `AgentRun`) and how a run is split into
  export requests (`ExportOrder`, `AgentRun.exports`);
- copilot_spans.py: the spans themselves, the sources read for each attribute, the seeded ids,
  and `attributes_of`, which reads a span's attributes back.

Chat spans carry no user and no repository: only the enclosing `invoke_agent` does. The spans of
a run are in the order they end (the order the SDK's BatchSpanProcessor queues them), so the
`invoke_agent` span that wraps a turn comes after its chat and tool spans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.support.otlp import NOW_NS
from tests.support.payloads.copilot_run import CLI_RESOURCE as CLI_RESOURCE
from tests.support.payloads.copilot_run import RESOURCE as RESOURCE
from tests.support.payloads.copilot_run import RESOURCE_WITH_IDENTITY as RESOURCE_WITH_IDENTITY
from tests.support.payloads.copilot_run import SCOPE as SCOPE
from tests.support.payloads.copilot_run import AgentRun as AgentRun
from tests.support.payloads.copilot_run import Buckets as Buckets
from tests.support.payloads.copilot_run import ChatCall as ChatCall
from tests.support.payloads.copilot_run import ChatRecord as ChatRecord
from tests.support.payloads.copilot_run import ExportOrder as ExportOrder
from tests.support.payloads.copilot_run import expected_buckets as expected_buckets
from tests.support.payloads.copilot_spans import INHERITABLE_KEYS as INHERITABLE_KEYS
from tests.support.payloads.copilot_spans import SERVER_ADDRESS as SERVER_ADDRESS
from tests.support.payloads.copilot_spans import RunBuilder, seeded_hex, seeded_uuid
from tests.support.payloads.copilot_spans import attributes_of as attributes_of
from tests.support.payloads.copilot_spans import workspace_attributes as workspace_attributes

AGENT_NAME = "GitHub Copilot Chat"  # gen_ai.agent.name of the foreground agent-mode invoke_agent
CHAT_AGENT_NAME = "panel/editAgent"  # chat spans get the fetcher's debugName as gen_ai.agent.name

DEFAULT_CHATS = (
    ChatCall(input_tokens=18000, output_tokens=420, cache_read=12000),
    ChatCall(input_tokens=21500, output_tokens=900, cache_read=17800, reasoning=256),
)


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
    trace_id = seeded_hex(seed, "trace", 32)
    builder = RunBuilder(seed, trace_id, seeded_uuid(seed, "conversation"), parent_totals)
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
