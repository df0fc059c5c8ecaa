"""Trace context: a model call inherits the identity and workspace it lacks from its ancestor spans.

GitHub Copilot puts usage on `chat` spans and the user, conversation and git remote/branch only on
the `invoke_agent` span around them (tests/support/payloads/copilot.py, from the extension's
source). Parents end, and are exported, after their children, so every arrival order is tried:
the row is complete however the spans arrive, tokens and cost never change, a replay adds
nothing, the rollups stay exact, another sender's spans never fill a row, and context older than
the window is pruned.
"""

from __future__ import annotations

import random
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bridge.ingest import bind_identity
from bridge.mapping import map_traces
from bridge.pricing.pricer import Pricer
from bridge.receive.auth import Principal
from tests.support.adapters import log, logs, traces
from tests.support.bridge_process import BridgeProcess
from tests.support.ingest import ingestor
from tests.support.otlp import post
from tests.support.payloads.copilot import AgentRun, ChatCall, attributes_of, copilot_agent_run
from tests.support.rollups import assert_rollups_exact, reset

ROWS = """
    SELECT span_id, user_id, team, session_id, workspace_repo, workspace_branch, input_tokens, output_tokens,
           cache_read_tokens, cache_write_tokens, reasoning_tokens, total_cost_usd
    FROM agent_spend_logs ORDER BY span_id
"""


def expected_rows(run: AgentRun, *, inherited: bool = True) -> list[tuple[Any, ...]]:
    """One row per chat span: its buckets, its list cost, and its invoke_agent's identity."""
    pricer = Pricer()
    out = []
    for chat in run.chats:
        agent = attributes_of(run.span(chat.agent_span_id))
        only_chat = map_traces(traces(run.resource, [run.span(chat.span_id)]))
        (call,) = only_chat.calls
        cost = pricer.price(call).total
        b = chat.expected
        own_session = attributes_of(run.span(chat.span_id)).get("gen_ai.conversation.id")
        identity = (
            (
                agent["user.name"],
                "unknown",
                own_session or agent["gen_ai.conversation.id"],
                agent["github.copilot.git.repository"],
                agent["github.copilot.git.branch"],
            )
            if inherited
            else ("unknown", "unknown", own_session, None, None)
        )
        out.append(
            (chat.span_id, *identity, b.input, b.output, b.cache_read, b.cache_write, b.reasoning, cost)
        )
    return sorted(out)


def _stored(database_url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(ROWS).fetchall()


def _send(bridge: BridgeProcess, exports: list[ExportTraceServiceRequest]) -> None:
    for export in exports:
        status, _, body = post(
            f"{bridge.http_url}/v1/traces", export.SerializeToString(), "application/x-protobuf"
        )
        assert status == 200, body


@pytest.mark.parametrize("order", ["one", "children_first", "parent_first", "per_span"])
def test_copilot_chat_rows_carry_the_user_and_repository_of_their_invoke_agent(
    bridge: BridgeProcess, database_url: str, order: Any
) -> None:
    run = copilot_agent_run(
        chats=(
            ChatCall(input_tokens=18000, output_tokens=420, cache_read=12000),
            ChatCall(input_tokens=21500, output_tokens=900, cache_read=17800, reasoning=256),
            ChatCall(input_tokens=4000, output_tokens=120, cache_write=1000),
        ),
        subagent=(ChatCall(input_tokens=9000, output_tokens=300, cache_read=4000),),
        seed=f"order-{order}",
    )
    _send(bridge, run.exports(order))
    expected = expected_rows(run)
    assert len(expected) == 4
    assert _stored(database_url) == expected

    _send(bridge, run.exports("per_span"))  # the exporter retries everything: nothing changes
    assert _stored(database_url) == expected
    with psycopg.connect(database_url) as conn:
        assert_rollups_exact(conn)
        sessions = conn.execute(
            "SELECT session_id, user_id, workspace_repo, calls FROM session_rollup"
        ).fetchall()
    per_session: dict[str, int] = {}
    for row in expected:
        per_session[row[3]] = per_session.get(row[3], 0) + 1
    assert sorted(sessions) == sorted(
        (session, "octocat", "https://github.com/acme/widgets", n) for session, n in per_session.items()
    )


def test_a_parent_that_never_arrives_leaves_the_row_as_sent(database_url: str) -> None:
    run = copilot_agent_run(seed="orphan")
    children, _root = run.exports("children_first")
    with ingestor(database_url) as ingest:
        assert ingest.traces(children).written == len(run.chats)
    assert _stored(database_url) == expected_rows(run, inherited=False)
    with psycopg.connect(database_url) as conn:
        waiting = conn.execute("SELECT count(*) FROM trace_waiting").fetchone()
        assert waiting == (len(run.chats),)
        assert_rollups_exact(conn)


def test_an_event_of_the_call_that_arrives_first_inherits_through_the_chat_span(database_url: str) -> None:
    """The inference event makes the row; the chat span links it to invoke_agent; then the parent."""
    run = copilot_agent_run(
        chats=(ChatCall(input_tokens=5000, output_tokens=200, cache_read=3000),), seed="evt"
    )
    (chat,) = run.chats
    attrs = attributes_of(run.span(chat.span_id))
    event = {k: v for k, v in attrs.items() if k.startswith("gen_ai.")}
    event_logs = logs(
        run.resource,
        [
            log(
                event,
                event_name="gen_ai.client.inference.operation.details",
                trace_id=run.trace_id,
                span_id=chat.span_id,
            )
        ],
    )
    children, root = run.exports("children_first")
    with ingestor(database_url) as ingest:
        assert ingest.logs(event_logs).written == 1
        assert ingest.traces(children).duplicates == 1
        ingest.traces(root)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT signal, user_id, workspace_repo, session_id FROM agent_spend_logs"
        ).fetchall()
        agent = attributes_of(run.span(run.root_span_id))
        assert row == [("log", "octocat", "https://github.com/acme/widgets", agent["gen_ai.conversation.id"])]
        assert_rollups_exact(conn)


def test_another_senders_spans_never_fill_a_row(database_url: str) -> None:
    """Contexts are kept per sender (bound ingest token): a forged parent with the same ids is inert."""
    run = copilot_agent_run(seed="senders")
    children, root = run.exports("children_first")
    alice = Principal(name="alice-laptop", team="payments")
    mallory = Principal(name="mallory", team="search", user="mallory@example.com")
    with ingestor(database_url) as ingest:
        with bind_identity(alice):
            ingest.traces(children)
        with bind_identity(mallory):
            ingest.traces(root)  # same trace and span ids, another sender
        with psycopg.connect(database_url) as conn:
            users = conn.execute("SELECT DISTINCT user_id, workspace_repo FROM agent_spend_logs").fetchall()
        assert users == [("unknown", None)]
        with bind_identity(alice):
            ingest.traces(root)  # alice's own parent completes her rows
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT DISTINCT user_id, team, workspace_repo FROM agent_spend_logs").fetchall()
        assert rows == [("octocat", "payments", "https://github.com/acme/widgets")]
        assert_rollups_exact(conn)


def test_context_older_than_the_window_is_pruned_and_no_longer_applies(database_url: str) -> None:
    run = copilot_agent_run(seed="window")
    children, root = run.exports("children_first")
    with ingestor(database_url, context_window=0, maintenance_interval=0) as ingest:
        ingest.traces(children)  # maintenance after this write prunes every waiting row
        with psycopg.connect(database_url) as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM trace_spans), (SELECT count(*) FROM trace_waiting)"
            ).fetchone()
        assert counts == (0, 0)
        ingest.traces(root)
    assert _stored(database_url) == expected_rows(run, inherited=False)


def test_a_row_with_its_own_identity_keeps_it(database_url: str) -> None:
    """Only what is missing is filled: a chat that names its own user and repo keeps them."""
    run = copilot_agent_run(seed="own")
    children, root = run.exports("children_first")
    for span in children.resource_spans[0].scope_spans[0].spans:
        if span.name.startswith("chat "):
            kv = span.attributes.add()
            kv.key, kv.value.string_value = "user.id", "own@example.com"
    with ingestor(database_url) as ingest:
        ingest.traces(children)
        ingest.traces(root)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT DISTINCT user_id, workspace_repo FROM agent_spend_logs").fetchall()
    assert rows == [("own@example.com", "https://github.com/acme/widgets")]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10**6),
    runs=st.integers(1, 3),
    dropped=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_any_arrival_order_gives_the_same_rows_and_exact_rollups(
    database_url: str, seed: int, runs: int, dropped: list[bool]
) -> None:
    """Spans of several turns, each exported alone, shuffled; some parents never arrive."""
    rng = random.Random(seed)
    turns = [copilot_agent_run(seed=f"h{seed}-{i}", user=f"dev{i}@example.com") for i in range(runs)]
    exports = []
    for turn, drop in zip(turns, dropped, strict=False):
        for span in turn.spans:
            if drop and span.span_id.hex() == turn.root_span_id:
                continue
            exports.append(traces(turn.resource, [span], scope="copilot-chat"))
    rng.shuffle(exports)
    with psycopg.connect(database_url, autocommit=True) as conn:
        reset(conn)
        conn.execute("TRUNCATE trace_spans, trace_waiting")
    with ingestor(database_url, max_batch_rows=rng.choice([1, 4, 1000])) as ingest:
        for export in exports:
            ingest.traces(export)
    expected = sorted(
        row
        for turn, drop in zip(turns, dropped, strict=False)
        for row in expected_rows(turn, inherited=not drop)
    )
    assert _stored(database_url) == expected
    with psycopg.connect(database_url) as conn:
        assert_rollups_exact(conn)


def test_a_context_row_lists_its_fields_in_the_copy_column_order() -> None:
    """context_row spells the fields out for speed; CONTEXT_COLUMNS derives from the model."""
    from bridge.model import INHERITED_FIELDS, Identity, SpanContext
    from bridge.store.rows import CONTEXT_COLUMNS, context_row

    ident = Identity(**{name: f"v-{name}" for name in INHERITED_FIELDS})
    row = context_row(SpanContext("t" * 32, "s" * 16, "p" * 16, ident), "sender-1")
    assert dict(zip(CONTEXT_COLUMNS, row, strict=True)) == {
        "sender": "sender-1",
        "trace_id": "t" * 32,
        "span_id": "s" * 16,
        "parent_span_id": "p" * 16,
        **{name: f"v-{name}" for name in INHERITED_FIELDS},
    }
