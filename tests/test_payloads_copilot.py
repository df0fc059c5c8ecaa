"""The Copilot payload builders' own structure: ids link, exports split as documented, wire types.

No bridge behaviour here: tests/support/payloads/copilot.py is what other tests send.
"""

from __future__ import annotations

from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.support.payloads.copilot import (
    RESOURCE,
    RESOURCE_WITH_IDENTITY,
    Buckets,
    ChatCall,
    ExportOrder,
    attributes_of,
    copilot_agent_run,
)

SUB = (
    ChatCall(
        input_tokens=5000, output_tokens=100, cache_read=1000, cache_write=2000, model="claude-sonnet-4.5"
    ),
)


def _by_id(spans: list[Span]) -> dict[str, Span]:
    return {s.span_id.hex(): s for s in spans}


def test_spans_form_one_tree_under_the_root_agent() -> None:
    run = copilot_agent_run(subagent=SUB)
    spans = _by_id(run.spans)
    assert len(spans) == len(run.spans), "span ids are unique"
    assert {s.trace_id.hex() for s in run.spans} == {run.trace_id}
    root = spans[run.root_span_id]
    assert root.parent_span_id == b"" and root.name == "invoke_agent GitHub Copilot Chat"
    for s in run.spans:
        if s is not root:
            assert s.parent_span_id.hex() in spans, s.name
            parent = spans[s.parent_span_id.hex()]
            assert parent.start_time_unix_nano <= s.start_time_unix_nano
            assert s.end_time_unix_nano <= parent.end_time_unix_nano
    # The subagent: invoke_agent Explore under execute_tool runSubagent under the root.
    sub_agent = spans[run.agent_span_ids[1]]
    tool = spans[sub_agent.parent_span_id.hex()]
    assert (sub_agent.name, tool.name) == ("invoke_agent Explore", "execute_tool runSubagent")
    assert tool.parent_span_id.hex() == run.root_span_id
    # Every chat hangs directly off its invoke_agent; the spans are listed in end order.
    for chat in run.chats:
        assert chat.parent_span_id == chat.agent_span_id in run.agent_span_ids
    ends = [s.end_time_unix_nano for s in run.spans]
    assert ends == sorted(ends) and run.spans[-1] is root


def test_span_kinds_and_names() -> None:
    run = copilot_agent_run(subagent=SUB)
    kinds = {s.name.split(" ")[0]: s.kind for s in run.spans}
    assert kinds == {
        "chat": Span.SPAN_KIND_CLIENT,
        "execute_tool": Span.SPAN_KIND_INTERNAL,
        "invoke_agent": Span.SPAN_KIND_INTERNAL,
    }
    assert [c.request_model for c in run.chats] == ["gpt-4o", "claude-sonnet-4.5", "gpt-4o"]


def test_identity_and_workspace_live_only_on_invoke_agent_spans() -> None:
    run = copilot_agent_run(
        subagent=SUB, user="octocat", repo="https://github.com/acme/widgets", branch="feat/x"
    )
    for s in run.spans:
        attrs = attributes_of(s)
        if attrs["gen_ai.operation.name"] == "invoke_agent":
            assert attrs["user.name"] == "octocat"
            assert attrs["github.copilot.git.repository"] == "https://github.com/acme/widgets"
            assert attrs["github.copilot.git.branch"] == "feat/x"
            assert attrs["github.copilot.github.org"] == "acme"
        else:
            assert not any(
                k == "user.name" or k.startswith(("github.copilot.git", "copilot_chat.repo")) for k in attrs
            )
    assert all(c.inherited["user.name"] == "octocat" for c in run.chats)
    assert run.resource == RESOURCE_WITH_IDENTITY
    anonymous = copilot_agent_run(user=None, repo=None)
    assert anonymous.resource == RESOURCE
    assert not any(
        "user.name" in attributes_of(s) or "github.copilot.git.repository" in attributes_of(s)
        for s in anonymous.spans
    )


def test_token_counts_are_int64_and_expected_buckets_are_disjoint() -> None:
    calls = (
        ChatCall(input_tokens=18000, output_tokens=420, cache_read=12000),
        ChatCall(input_tokens=900, output_tokens=30),
        ChatCall(input_tokens=21500, output_tokens=900, cache_read=17800, cache_write=1200, reasoning=256),
    )
    run = copilot_agent_run(calls)
    assert [c.expected for c in run.chats] == [
        Buckets(input=6000, output=420, cache_read=12000, cache_write=0, reasoning=0),
        Buckets(input=900, output=30, cache_read=0, cache_write=0, reasoning=0),
        Buckets(input=2500, output=900, cache_read=17800, cache_write=1200, reasoning=256),
    ]
    chat_spans = [s for s in run.spans if s.name.startswith("chat ")]
    for s in chat_spans:
        values = {kv.key: kv.value for kv in s.attributes}
        assert values["gen_ai.usage.input_tokens"].WhichOneof("value") == "int_value"
        assert values["gen_ai.usage.output_tokens"].WhichOneof("value") == "int_value"
        assert values["gen_ai.response.finish_reasons"].WhichOneof("value") == "array_value"
    # Zero cache/reasoning counts are left out, as the fetcher does.
    assert "gen_ai.usage.cache_read.input_tokens" not in attributes_of(chat_spans[1])
    # The parent repeats the sums and the last response id: it is not a model call of its own.
    root = attributes_of(run.span(run.root_span_id))
    assert root["gen_ai.usage.input_tokens"] == 40400 and root["copilot_chat.turn_count"] == 3
    assert root["gen_ai.response.id"] == run.chats[-1].response_id
    assert len({c.response_id for c in run.chats}) == 3


def test_exports_split_as_documented() -> None:
    run = copilot_agent_run(subagent=SUB)

    def names(order: ExportOrder) -> list[list[str]]:
        return [
            [s.span_id.hex() for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
            for req in run.exports(order)
        ]

    all_ids = [s.span_id.hex() for s in run.spans]
    assert names("one") == [all_ids]
    assert names("children_first") == [all_ids[:-1], [run.root_span_id]]
    assert names("parent_first") == [[run.root_span_id], all_ids[:-1]]
    assert names("per_span") == [[i] for i in all_ids]
    for req in run.exports():
        resource = {kv.key: kv.value for kv in req.resource_spans[0].resource.attributes}
        assert resource["service.name"] == AnyValue(string_value="copilot-chat")


def test_seeds_give_distinct_ids() -> None:
    a, b = copilot_agent_run(seed="a"), copilot_agent_run(seed="b")
    assert a.trace_id != b.trace_id
    assert not {c.response_id for c in a.chats} & {c.response_id for c in b.chats}
    assert copilot_agent_run(seed="a").spans == a.spans, "deterministic"
