"""Stored calls keep their integrity (issue 9 items 1, 3 and 4).

Edge validation per field (unit), and the completion rule of a later copy of a call: it may fill
a missing reported cost only when it is the same call with a plausible cost, never rewrite
another sender's row.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bridge import config
from bridge.mapping import map_logs, map_traces
from bridge.mapping.validate import _IDENTITY_FIELDS, _NAME_FIELDS, validate_call
from bridge.model import Identity, Rejected, ReportedCost, Tokens
from tests.support.adapters import log, logs, span, traces
from tests.support.bridge_process import BridgeProcess
from tests.support.calls import model_call, row_of, write_together
from tests.support.db import rows
from tests.support.otlp import json_span, json_traces, post

ATTRS = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.usage.input_tokens": 100,
    "gen_ai.usage.output_tokens": 10,
}


def _reason(**fields: Any) -> str:
    with pytest.raises(Rejected) as err:
        validate_call(model_call(**fields))
    return str(err.value)


# -- edge validation, per field -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"identity": Identity(user_id="a\x00b")}, "user_id: contains a NUL character"),
        ({"identity": Identity(user_id="a\x07b")}, "user_id: contains a control character"),
        ({"identity": Identity(user_id="u" * (config.MAX_NAME_CHARS + 1))}, "user_id: longer than 512"),
        ({"identity": Identity(team="t" * 3000)}, "team: longer than"),
        ({"identity": Identity(session_id="s" * 3000)}, "session_id: longer than"),
        ({"identity": Identity(workspace_repo="r\x00")}, "workspace_repo: contains a NUL"),
        ({"identity": Identity(workspace_branch="b" * 600)}, "workspace_branch: longer than"),
        ({"identity": Identity(machine_id="m" * 600)}, "machine_id: longer than"),
        ({"identity": Identity(harness_name="h\x00")}, "harness_name: contains a NUL"),
        ({"identity": Identity(workspace_cwd="/x\x00")}, "workspace_cwd: contains a NUL"),
        ({"identity": Identity(user_id="\ud800")}, "user_id: not valid UTF-8"),
        ({"model": "m" * 600}, "model: longer than"),
        ({"provider": "p\x00"}, "provider: contains a NUL"),
        ({"dedup_key": "span:" + "k" * 600}, "dedup_key: longer than"),
        ({"trace_id": ""}, "trace_id: empty or invalid"),
        ({"trace_id": "0" * 32}, "trace_id: empty or invalid"),
        ({"trace_id": "ab" * 2048}, "trace_id: empty or invalid"),
        ({"span_id": ""}, "span_id: empty or invalid"),
        ({"span_id": "0" * 16}, "span_id: empty or invalid"),
        ({"span_id": "xyz"}, "span_id: empty or invalid"),
        ({"tokens": Tokens(input=-1)}, "input_tokens: -1"),
        ({"tokens": Tokens(output=2**63)}, "output_tokens:"),
        ({"tokens": Tokens(cache_read=config.MAX_TOKENS_PER_BUCKET + 1)}, "cache_read_tokens:"),
        ({"reported": ReportedCost(total=Decimal("1e10"))}, "reported_cost.total:"),
        ({"reported": ReportedCost(total=Decimal(config.MAX_COST_USD))}, "reported_cost.total:"),
        ({"reported": ReportedCost(input=Decimal("-0.01"))}, "reported_cost.input:"),
        ({"reported": ReportedCost(output=Decimal("NaN"))}, "reported_cost.output:"),
        ({"reported": ReportedCost(total=Decimal("Infinity"))}, "reported_cost.total:"),
        ({"finish_reasons": ["stop\x00"]}, "finish_reasons: contains a NUL"),
        ({"identity": Identity(team=config.ALL_SENTINEL)}, "team: '__all' is reserved"),
        ({"identity": Identity(user_id=config.ALL_SENTINEL)}, "user_id: '__all' is reserved"),
        ({"identity": Identity(environment=config.ALL_SENTINEL)}, "environment: '__all' is reserved"),
        ({"identity": Identity(harness_name=config.ALL_SENTINEL)}, "harness_name: '__all' is reserved"),
        ({"identity": Identity(workspace_repo=config.ALL_SENTINEL)}, "workspace_repo: '__all' is reserved"),
        ({"model": config.ALL_SENTINEL}, "model: '__all' is reserved"),
    ],
)
def test_validation_names_the_field(fields: dict[str, Any], expected: str) -> None:
    assert expected in _reason(**fields)


@pytest.mark.parametrize("field", _IDENTITY_FIELDS)
def test_every_identity_field_is_checked(field: str) -> None:
    """The fast path reads these fields spelled out (validate._identity_values): a field it
    left out would let a control character through."""
    assert _reason(identity=Identity(**{field: "a\x07b"})) == f"{field}: contains a control character"
    assert _reason(identity=Identity(**{field: "x" * 600})).startswith(f"{field}: longer than")


@pytest.mark.parametrize("field", _NAME_FIELDS)
def test_every_name_field_is_checked(field: str) -> None:
    assert _reason(**{field: "a\x07b"}) == f"{field}: contains a control character"
    assert _reason(**{field: "x" * 600}).startswith(f"{field}: longer than")


def test_valid_call_passes_and_display_attributes_are_cleaned() -> None:
    call = model_call(
        attributes={"k\x00ey": "v\x00al", "nested": {"a\x00": ["x\x00"]}, "nan": float("nan")},
        error="boom\x00\x01",
        reported=ReportedCost(total=Decimal("999999.99")),
    )
    validate_call(call)
    assert call.attributes == {"key": "val", "nested": {"a": ["x"]}, "nan": "nan"}
    assert call.error == "boom"


def test_log_ids_are_optional_but_checked_when_present() -> None:
    call = model_call(signal="log", trace_id=None, span_id="0" * 16)
    validate_call(call)
    assert (call.trace_id, call.span_id) == (None, None)
    with pytest.raises(Rejected, match="trace_id: invalid"):
        validate_call(model_call(signal="log", trace_id="ab" * 100))


def test_spans_without_ids_are_rejected_not_merged() -> None:
    """Ten id-less spans used to collapse into one row under `span::`; now each is rejected."""
    spans = [span("chat", {**ATTRS, "gen_ai.usage.input_tokens": 100 + i}, "") for i in range(10)]
    for s in spans:
        s.trace_id = b""
    result = map_traces(traces({}, spans))
    assert result.calls == [] and len(result.rejections) == 10
    assert all(r.reason.startswith("trace_id: empty or invalid") for r in result.rejections)


def test_rejected_record_example_has_no_nul() -> None:
    no_model = {k: v for k, v in ATTRS.items() if k != "gen_ai.request.model"}
    result = map_traces(traces({}, [span("chat\x00x", no_model, "1" * 16)]))
    (rejection,) = result.rejections
    assert rejection.example["name"] == "chatx"
    log_result = map_logs(logs({}, [log({"event.name": "x"}, event_name="gen_ai.\x00")]))
    for r in log_result.rejections:
        assert "\x00" not in str(r.example)


# -- a later copy completes only the same call ----------------------------------------------------
def _stored(database_url: str) -> list[tuple[Any, ...]]:
    return rows(
        database_url,
        "SELECT user_id, input_tokens, reported_cost_usd, total_cost_usd, cost_source FROM agent_spend_logs",
    )


def test_a_strangers_copy_never_rewrites_a_stored_call(bridge: BridgeProcess, database_url: str) -> None:
    """The measured defect: $0.00045 became $442.50 through another user's copy with the same ids."""
    trace, span_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    url = f"{bridge.http_url}/v1/traces"
    status, _, _ = post(
        url, json_traces({"agent.user.id": "ana@example.com"}, [json_span(trace, span_id, "chat", ATTRS)])
    )
    assert status == 200
    assert _stored(database_url) == [("ana@example.com", 100, None, Decimal("0.00045"), "list_price")]

    stranger = {**ATTRS, "gen_ai.usage.input_tokens": 30_000_000, "agent.cost.total.usd": 5000}
    for resource, attrs in [
        ({"agent.user.id": "mallory@example.com"}, stranger),  # other user, other tokens, $5,000
        ({"agent.user.id": "mallory@example.com"}, {**ATTRS, "agent.cost.total.usd": 0.0004}),  # other user
        ({"agent.user.id": "ana@example.com"}, stranger),  # same user, other tokens
        ({"agent.user.id": "ana@example.com"}, {**ATTRS, "agent.cost.total.usd": 5000}),  # implausible cost
        (
            {"agent.user.id": "ana@example.com", "agent.user.team": "x"},
            {**ATTRS, "agent.cost.total.usd": 0.0004},
        ),
        (
            {"agent.user.id": "ana@example.com"},
            {**ATTRS, "gen_ai.request.model": "gpt-4o", "agent.cost.total.usd": 0.0004},
        ),
    ]:
        status, _, _ = post(url, json_traces(resource, [json_span(trace, span_id, "chat", attrs)]))
        assert status == 200
        assert _stored(database_url) == [("ana@example.com", 100, None, Decimal("0.00045"), "list_price")]

    # The same call, same sender, with a plausible reported cost: completed.
    post(
        url,
        json_traces(
            {"agent.user.id": "ana@example.com"},
            [json_span(trace, span_id, "chat", {**ATTRS, "agent.cost.total.usd": 0.0005})],
        ),
    )
    ((user, tokens, reported, _, _),) = _stored(database_url)
    assert (user, tokens, reported) == ("ana@example.com", 100, Decimal("0.0005"))


def test_completion_within_one_batch_prefers_the_first_copy(database_url: str) -> None:
    key = "span:" + "1" * 32 + ":" + "2" * 16
    first = row_of(model_call("ana@example.com", dedup_key=key))
    stranger = row_of(
        model_call("mallory@example.com", dedup_key=key, reported=Decimal("5000"), input_tokens=9)
    )
    _, results = write_together(database_url, [[first], [stranger]])
    assert [r.written for r in results] == [1, 0]
    assert _stored(database_url) == [("ana@example.com", 100, None, Decimal("0.00045"), "list_price")]

    same = row_of(model_call("ana@example.com", dedup_key=key, reported=Decimal("0.0005")))
    write_together(database_url, [[same]])
    assert _stored(database_url)[0][2] == Decimal("0.0005")


def test_same_batch_span_then_costed_copy_completes(database_url: str) -> None:
    key = "claude-code:req:abc"
    span_row = row_of(model_call("ana@example.com", dedup_key=key))
    log_row = row_of(model_call("ana@example.com", dedup_key=key, reported=Decimal("0.0005"), signal="log"))
    write_together(database_url, [[span_row, log_row]])
    assert _stored(database_url)[0][:3] == ("ana@example.com", 100, Decimal("0.0005"))


def test_unpriced_model_completes_only_below_the_cap(database_url: str) -> None:
    key = "span:" + "3" * 32 + ":" + "4" * 16
    write_together(database_url, [[row_of(model_call(model="house-model-x", dedup_key=key))]])
    too_much = Decimal(config.REPORTED_COST_UNPRICED_MAX_USD) + 1
    write_together(
        database_url, [[row_of(model_call(model="house-model-x", dedup_key=key, reported=too_much))]]
    )
    assert _stored(database_url)[0][2] is None
    write_together(
        database_url, [[row_of(model_call(model="house-model-x", dedup_key=key, reported=Decimal("2")))]]
    )
    assert _stored(database_url)[0][2] == Decimal("2")
