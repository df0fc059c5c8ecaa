"""Claims decided from per-record facts pick the same adapter as the old attribute scans (issue 12).

Also: the clean flag flattening sets (`attrs_clean`) is only set on clean attributes, and
mapping with it gives the same calls, rejections and contexts as walking every call's attributes.

The oracle is tests/support/claims.py, a frozen copy of the scans; records are built as
protobuf requests and flattened by `iter_spans` / `iter_logs`, exactly as a harness's are.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.mapping import codex, copilot, map_logs, map_traces, openinference, openllmetry, records, semconv
from bridge.mapping.attributes import CONTENT_KEYS, CONTENT_PREFIXES, is_content_key, to_dict, without_content
from bridge.mapping.records import CLAIM_NAMESPACES, attribute_namespaces
from bridge.mapping.validate import _needs_cleaning
from seeder.generate import generate
from seeder.otlp import to_requests
from tests.support.adapters import log, logs, span, traces
from tests.support.claims import (
    PAYLOAD_EVENT_NAMES,
    PAYLOAD_SCOPES,
    PAYLOAD_SPAN_NAMES,
    attribute_keys,
    harvested_strings,
    log_adapter,
    log_records,
    payload_attribute_sets,
    payload_resources,
    reference_log_adapter,
    reference_span_adapter,
    span_adapter,
    span_records,
)
from tests.support.payloads.copilot import copilot_agent_run
from tests.support.payloads.gemini_cli import gemini_traces

SPAN_ID = "00f067aa0ba902b7"

# Keys at the edges of the namespace rules: a bare namespace, a trailing dot, look-alikes.
EDGE_KEYS = [
    "agent",
    "agent.",
    "agents.x",
    "agent_x.y",
    "codex.usage",
    "codex.usage.",
    "codex.usage.total_tokens",
    "codex.usagex.y",
    "codex.other.y",
    "llm.token_count",
    "llm.token_count.",
    "llm.token_count.prompt",
    "llm.usage.prompt_tokens",
    "llm.usagex",
    "llm.request.type",
    "traceloop",
    "traceloop.",
    "traceloop.span.kind",
    "copilot_chat",
    "copilot_chat.",
    "github.copilot",
    "github.copilot.",
    "github.copilot.git.branch",
    "github.copilotx.y",
    ".agent.x",
    "a..b",
    "openinference.span.kind",
    "ai.operationId",
    "installation.id",
    "from",
    "event.name",
    "agent.event.kind",
    "gen_ai.agent.name",
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    *[
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
    ],
]
KEYS = sorted(set(attribute_keys()) | set(EDGE_KEYS))
STRINGS = harvested_strings()
VALUES = st.one_of(
    st.sampled_from(
        ["github", "gemini-cli", "llm_call", "model_call", "codex.sse_event", "claude_code.api_request", ""]
    ),
    st.sampled_from(STRINGS),
    st.integers(0, 10),
)
SERVICES = st.sampled_from(
    [
        "claude-code",
        "claude-code-desktop",
        "codex_exec",
        "codex_vscode",
        "gemini-cli",
        "copilot-chat",
        "github-copilot",
        "pi",
        "unknown_service:node",
        "support-bot",
        "",
    ]
)
SCOPES = st.one_of(st.sampled_from(PAYLOAD_SCOPES), st.sampled_from(["openlit", "gemini-cli", "codex_otel"]))


def _resource(service: str, sdk: bool) -> dict[str, Any]:
    resource: dict[str, Any] = {"service.name": service} if service else {}
    if sdk:
        resource["telemetry.sdk.name"] = "openlit"
    return resource


def _with_agent_extension(attribute_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each set as captured and with an `agent.*` key added: several claims turn on that namespace."""
    return [*attribute_sets, *({**attrs, "agent.session.id": "s-1"} for attrs in attribute_sets)]


def test_the_adapters_claim_by_registered_namespaces() -> None:
    used = {
        semconv.AGENT_NAMESPACE,
        codex.USAGE_NAMESPACE,
        openinference.TOKEN_COUNT_NAMESPACE,
        *copilot.NAMESPACES,
        *openllmetry.NAMESPACES,
    }
    assert used == set(CLAIM_NAMESPACES)


def test_every_captured_payload_shape_goes_to_the_same_span_adapter() -> None:
    attribute_sets = payload_attribute_sets()
    assert len(attribute_sets) > 20  # the harvest found the payload modules' maps
    attribute_sets = _with_agent_extension(attribute_sets)
    checked = 0
    for resource, scope in itertools.product(payload_resources(), PAYLOAD_SCOPES):
        spans = [
            span(name, attrs, SPAN_ID)
            for name, attrs in itertools.product(PAYLOAD_SPAN_NAMES, attribute_sets)
        ]
        for record in span_records(traces(resource, spans, scope=scope)):
            assert span_adapter(record) == reference_span_adapter(record), (resource, scope, record)
            checked += 1
    assert checked > 10_000


def test_every_captured_payload_shape_goes_to_the_same_log_adapter() -> None:
    attribute_sets = _with_agent_extension(payload_attribute_sets())
    checked = 0
    # Log claims read the scope only for Codex's prefix and Gemini CLI's logger name.
    scopes = ("tests", "codex_otel.log_only", "gemini-cli")
    for resource, scope in itertools.product(payload_resources(), scopes):
        records = [
            log(attrs, event_name=name, body=body)
            for name, attrs in itertools.product(PAYLOAD_EVENT_NAMES, attribute_sets)
            for body in (None, name)
        ]
        for record in log_records(logs(resource, records, scope=scope)):
            assert log_adapter(record) == reference_log_adapter(record), (resource, scope, record)
            checked += 1
    assert checked > 10_000


def test_multi_span_exports_go_to_the_same_adapters() -> None:
    run = copilot_agent_run()
    requests = [
        traces(run.resource, run.spans, scope="copilot-chat"),
        gemini_traces(),
        *to_requests(generate(days=1, users=3, seed=7, now=datetime(2026, 1, 15, tzinfo=UTC))),
    ]
    for request in requests:
        for record in span_records(request):
            assert span_adapter(record) == reference_span_adapter(record), record


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    attrs=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=12)
    | st.dictionaries(st.sampled_from(EDGE_KEYS), VALUES, max_size=6),
    name=st.one_of(st.sampled_from(STRINGS), st.sampled_from(PAYLOAD_SPAN_NAMES)),
    scope=SCOPES,
    service=SERVICES,
    sdk=st.booleans(),
)
def test_random_spans_go_to_the_same_adapter(
    attrs: dict[str, Any], name: str, scope: str, service: str, sdk: bool
) -> None:
    (record,) = span_records(traces(_resource(service, sdk), [span(name, attrs, SPAN_ID)], scope=scope))
    assert span_adapter(record) == reference_span_adapter(record)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    attrs=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=12),
    name=st.one_of(st.sampled_from(STRINGS), st.sampled_from(PAYLOAD_EVENT_NAMES)),
    body=st.one_of(st.none(), st.sampled_from(PAYLOAD_EVENT_NAMES)),
    scope=SCOPES,
    service=SERVICES,
)
def test_random_log_records_go_to_the_same_adapter(
    attrs: dict[str, Any], name: str, body: str | None, scope: str, service: str
) -> None:
    (record,) = log_records(
        logs(_resource(service, False), [log(attrs, event_name=name, body=body)], scope=scope)
    )
    assert log_adapter(record) == reference_log_adapter(record)


@given(st.lists(st.sampled_from(KEYS) | st.text(alphabet="ab.", max_size=6), max_size=10))
def test_namespaces_are_the_prefixes_the_scans_looked_for(keys: list[str]) -> None:
    namespaces = attribute_namespaces(dict.fromkeys(keys, 1))
    for prefix in ("agent.", "codex.usage.", "llm.token_count.", "llm.usage.", "traceloop."):
        assert (prefix in namespaces) == any(k.startswith(prefix) for k in keys), prefix
    for prefix in ("copilot_chat.", "github.copilot."):
        assert (prefix in namespaces) == any(k.startswith(prefix) for k in keys), prefix


@given(st.lists(st.sampled_from(KEYS) | st.sampled_from(sorted(CONTENT_KEYS)), max_size=10))
def test_content_stripping_is_unchanged(keys: list[str]) -> None:
    attrs = dict.fromkeys(keys, "x")
    expected = {k: v for k, v in attrs.items() if not (k in CONTENT_KEYS or k.startswith(CONTENT_PREFIXES))}
    assert without_content(attrs) == expected
    assert without_content(attrs) is not attrs
    assert all(is_content_key(k) == (k in CONTENT_KEYS or k.startswith(CONTENT_PREFIXES)) for k in keys)


# -- the clean flag set while flattening (validation skips its walk when it is set) ------------
AWKWARD_VALUES = st.one_of(
    VALUES,
    st.sampled_from(
        ["a\x00b", "\x00", "é\x00", "ok", "日本", "\x01\x7f", math.nan, math.inf, -math.inf, 0.5, -0.0]
    ),
    st.lists(st.sampled_from(["x", "\x00y", 1, math.nan, 2.5]), max_size=3),
    st.booleans(),
    st.text(max_size=8),
)
AWKWARD_SERVICES = st.one_of(
    SERVICES, st.sampled_from(["claude-code\x00x", "claude-code-\x00desktop", "é\x00"])
)


def _unflagged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flattening as if nothing were known to be clean: validation walks every call's attributes."""
    monkeypatch.setattr(records, "to_dict_checked", lambda attributes: (to_dict(attributes), False))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    attrs=st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), AWKWARD_VALUES, max_size=12),
    name=st.sampled_from(["chat", "llm", "claude_code.llm_request", *PAYLOAD_SPAN_NAMES]),
    event=st.sampled_from(PAYLOAD_EVENT_NAMES),
    service=AWKWARD_SERVICES,
    resource_extra=AWKWARD_VALUES,
)
def test_the_clean_flag_changes_no_output(
    monkeypatch: pytest.MonkeyPatch,
    attrs: dict[str, Any],
    name: str,
    event: str,
    service: str,
    resource_extra: Any,
) -> None:
    resource = {"service.name": service, "host.name": resource_extra}
    trace_request = traces(resource, [span(name, attrs, SPAN_ID)])
    log_request = logs(resource, [log(attrs, event_name=event)])
    for record in [*span_records(trace_request), *log_records(log_request)]:
        if record.attrs_clean:
            assert not _needs_cleaning(record.attrs) and not _needs_cleaning(record.resource)
    flagged = [map_traces(trace_request), map_logs(log_request)]
    with monkeypatch.context() as patch:
        _unflagged(patch)
        walked = [map_traces(trace_request), map_logs(log_request)]
    for got, expected in zip(flagged, walked, strict=True):
        assert repr(got.calls) == repr(expected.calls)
        assert repr(got.rejections) == repr(expected.rejections)
        assert repr(got.contexts) == repr(expected.contexts)
