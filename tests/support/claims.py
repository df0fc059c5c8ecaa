"""The adapter claim rules as they were before issue 12 (every adapter re-scanning the attributes).

A frozen oracle for tests/test_mapping_claims.py: the bridge now decides claims from facts
computed once per record (`SpanRecord.namespaces`, `service_harness`), and must pick the
same adapter as these scans for every record. Copied from bridge/mapping/* at 23cbd37 and
kept independent of the bridge's helpers, so a change there cannot change the oracle too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bridge.mapping import LOG_ADAPTERS, SPAN_ADAPTERS
from bridge.mapping.records import LogRecord, SpanRecord, iter_logs, iter_spans
from tests.support.payloads import claude_code, codex, copilot, gemini_cli, vercel_ai

ROOT = Path(__file__).resolve().parents[2]

_HARNESS_BY_SERVICE = {
    "claude-code": "claude-code",
    "claude_code": "claude-code",
    "codex": "codex",
    "codex_cli_rs": "codex",
    "codex-cli": "codex",
    "codex_exec": "codex",
    "gemini-cli": "gemini-cli",
    "gemini_cli": "gemini-cli",
    "github-copilot": "copilot",
    "copilot": "copilot",
    "copilot-chat": "copilot",
    "copilot-cli": "copilot",
    "pi": "pi",
    "pi-coding-agent": "pi",
}
_USAGE_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
)


def _harness(service_name: str | None) -> str | None:
    if not service_name:
        return None
    key = service_name.strip().lower()
    if key.startswith("unknown_service"):
        return None
    if key in _HARNESS_BY_SERVICE:
        return _HARNESS_BY_SERVICE[key]
    for prefix, harness in _HARNESS_BY_SERVICE.items():
        if key.startswith(prefix) and key[len(prefix)] in "-_.:/ ":
            return harness
    return key


def _text(attrs: Mapping[str, Any], key: str) -> str | None:
    raw = attrs.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, list):
        return ",".join(str(v) for v in raw)
    return str(raw)


def _has_prefix(attrs: Mapping[str, Any], *prefixes: str) -> bool:
    return any(key.startswith(prefixes) for key in attrs)


def _has_usage(attrs: Mapping[str, Any]) -> bool:
    return any(key in attrs for key in _USAGE_KEYS)


def _agent_ext(attrs: Mapping[str, Any]) -> bool:
    return any(key.startswith("agent.") for key in attrs)


def _from_codex(record: SpanRecord | LogRecord) -> bool:
    if record.scope_name.startswith("codex_otel"):
        return True
    return _harness(_text(record.resource, "service.name")) == "codex"


# -- spans, in SPAN_ADAPTERS order -----------------------------------------------------------
def _claude_span(span: SpanRecord) -> bool:
    return span.name.startswith("claude_code.")


def _codex_span(span: SpanRecord) -> bool:
    if any(key.startswith("codex.usage.") for key in span.attrs):
        return True
    if not _from_codex(span) or not _has_usage(span.attrs) or _agent_ext(span.attrs):
        return False
    return span.name == "handle_responses" or "from" in span.attrs


def _gemini_span(span: SpanRecord) -> bool:
    agent = _harness(_text(span.attrs, "gen_ai.agent.name")) == "gemini-cli"
    service = _harness(_text(span.resource, "service.name")) == "gemini-cli"
    if not (agent or service or span.scope_name == "gemini-cli") or _agent_ext(span.attrs):
        return False
    operation = _text(span.attrs, "gen_ai.operation.name")
    return "llm_call" in (span.name, operation) or (agent and _has_usage(span.attrs))


def _vercel_span(span: SpanRecord) -> bool:
    return span.name.startswith("ai.") or "ai.operationId" in span.attrs


def _openinference_span(span: SpanRecord) -> bool:
    return "openinference.span.kind" in span.attrs or any(
        key.startswith("llm.token_count.") for key in span.attrs
    )


def _openllmetry_span(span: SpanRecord) -> bool:
    return "llm.request.type" in span.attrs or _has_prefix(span.attrs, "traceloop.", "llm.usage.")


def _openlit_span(span: SpanRecord) -> bool:
    return span.scope_name.startswith("openlit") or _text(span.resource, "telemetry.sdk.name") == "openlit"


def _copilot_span(span: SpanRecord) -> bool:
    if _harness(_text(span.resource, "service.name")) == "copilot":
        return True
    return _has_prefix(span.attrs, "copilot_chat.", "github.copilot.") or (
        _text(span.attrs, "gen_ai.provider.name") == "github"
    )


SPAN_RULES: list[Callable[[SpanRecord], bool]] = [
    _claude_span,
    _codex_span,
    _gemini_span,
    _vercel_span,
    _openinference_span,
    _openllmetry_span,
    _openlit_span,
    _copilot_span,
    lambda span: True,
]


# -- logs, in LOG_ADAPTERS order -------------------------------------------------------------
def _claude_log(record: LogRecord) -> bool:
    body = record.body if isinstance(record.body, str) else ""
    for name in (record.event_name, body):
        if name.startswith("claude_code."):
            return True
    service = _harness(_text(record.resource, "service.name"))
    return (
        record.event_name in {"api_request", "api_error"}
        and service == "claude-code"
        and "agent.event.kind" not in record.attrs
    )


def _codex_log(record: LogRecord) -> bool:
    for name in (_text(record.attrs, "event.name"), record.event_name):
        if name and name.startswith("codex."):
            return True
    return _from_codex(record)


def _gemini_log(record: LogRecord) -> bool:
    if record.event_name.startswith("gemini_cli."):
        return True
    if record.event_name != "gen_ai.client.inference.operation.details":
        return False
    service = _harness(_text(record.resource, "service.name"))
    return service == "gemini-cli" or record.scope_name == "gemini-cli" or "installation.id" in record.attrs


LOG_RULES: list[Callable[[LogRecord], bool]] = [_claude_log, _codex_log, _gemini_log, lambda record: True]


def reference_span_adapter(span: SpanRecord) -> int:
    """Index in SPAN_ADAPTERS of the adapter the old scans chose."""
    return next(i for i, rule in enumerate(SPAN_RULES) if rule(span))


def reference_log_adapter(record: LogRecord) -> int:
    return next(i for i, rule in enumerate(LOG_RULES) if rule(record))


def span_adapter(span: SpanRecord) -> int:
    """Index in SPAN_ADAPTERS of the adapter the bridge chooses now."""
    return next(i for i, (claims, _) in enumerate(SPAN_ADAPTERS) if claims(span))


def log_adapter(record: LogRecord) -> int:
    return next(i for i, (claims, _) in enumerate(LOG_ADAPTERS) if claims(record))


# -- vocabularies harvested from the suite and the adapters ------------------------------------
_DOTTED = re.compile(r"^[A-Za-z_][\w\-]*(\.[\w\-]*)+$")


def _string_constants(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 80:
                yield node.value


def harvested_strings() -> list[str]:
    """Every short string literal of the adapter tests, their payloads and the mapping package:
    attribute keys, span and event names, scopes and service names the suite exercises."""
    tests = ROOT / "tests"
    paths = [
        *sorted(tests.glob("test_adapters_*.py")),
        *sorted(tests.glob("test_e2e_*.py")),
        tests / "test_trace_context.py",
        tests / "test_isolation.py",
        *sorted((tests / "support" / "payloads").glob("*.py")),
        *sorted((ROOT / "bridge" / "mapping").glob("*.py")),
        ROOT / "seeder" / "otlp.py",
    ]
    return sorted(set(_string_constants([p for p in paths if p.exists()])))


def attribute_keys() -> list[str]:
    """The harvested strings that look like attribute keys (dotted or snake_case names)."""
    return [s for s in harvested_strings() if _DOTTED.match(s) or re.fullmatch(r"[a-z_]+", s)]


# -- records built the way a request from a harness is flattened ---------------------------------
def span_records(request: ExportTraceServiceRequest) -> list[SpanRecord]:
    return list(iter_spans(request))


def log_records(request: ExportLogsServiceRequest) -> list[LogRecord]:
    return list(iter_logs(request))


def payload_attribute_sets() -> list[dict[str, Any]]:
    """Every attribute map the captured payloads define (module-level dicts, and dicts of them;
    not the module's own `__builtins__` and `__annotations__`, which are dicts too)."""
    found: list[dict[str, Any]] = []
    for module in (claude_code, codex, copilot, gemini_cli, vercel_ai):
        for name, value in vars(module).items():
            if (
                name.startswith("__")
                or not isinstance(value, dict)
                or not all(isinstance(k, str) for k in value)
            ):
                continue
            if value and all(isinstance(v, dict) for v in value.values()):
                found.extend(v for v in value.values() if all(isinstance(k, str) for k in v))
            else:
                found.append(value)
    return found


def payload_resources() -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = [
        {},
        {"service.name": "unknown_service:node"},
        {"service.name": "my-agent", "agent.user.id": "ana@example.com"},
        {"service.name": "copilot-chat"},
        {"service.name": "pi"},
        {"telemetry.sdk.name": "openlit"},
    ]
    for module in (claude_code, codex, copilot, gemini_cli, vercel_ai):
        resources += [v for k, v in vars(module).items() if k.endswith("RESOURCE") and isinstance(v, dict)]
    return resources


# Claims read the scope for Codex's prefix, Gemini CLI's tracer and OpenLIT's prefix.
PAYLOAD_SCOPES = (
    "tests",
    codex.SCOPE,
    "codex_otel.trace_safe",
    copilot.SCOPE,
    gemini_cli.SCOPE,
    "openlit.otel",
)
PAYLOAD_SPAN_NAMES = (
    "chat gpt-4o",
    "claude_code.llm_request",
    "claude_code.interaction",
    "handle_responses",
    "llm_call",
    "ai.generateText.doGenerate",
    "ai.streamText",
    "invoke_agent copilot",
    "execute_tool read_file",
    "",
)
PAYLOAD_EVENT_NAMES = (
    "",
    "claude_code.api_request",
    "api_request",
    "api_error",
    "codex.sse_event",
    codex.CALLSITE,
    "gemini_cli.api_response",
    "gen_ai.client.inference.operation.details",
    "agent.model_call",
)
