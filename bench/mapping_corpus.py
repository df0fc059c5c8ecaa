"""A fixed corpus for `bench_mapping.py --dump FILE` / `--check-against FILE`: is the Python path's
output unchanged by an optimisation?

The corpus is every record the bench maps (seeder mix, harness log shapes), every captured
payload shape of the test suite under every test resource, scope and span/event name (the
claims tests' product, tests/support/claims.py), a pricing sweep (models × providers × dates
across price changes × prompt sizes around the long-context threshold × fast mode × 1-hour
cache writes × reported costs), and seeded random records drawn from the suite's own keys with
awkward values (NUL, controls, NaN, huge, negative, numeric strings, lists, maps).
Each record is decoded, mapped, priced (with no overrides and with examples/price-overrides.yaml)
and turned into rows exactly as `bench_mapping.python_path` does; the dump is one `repr` line
per row, context, rejection and count, so a check is a line-by-line comparison.

A row's attributes column is JSON text for a JSONB column, and its spelling is not what is
stored (`{"a": 1e+300}` and `{"a":1e300}` are the same JSONB value): the dump holds the `repr`
of the parsed value instead (`json.loads`: big ints, floats, key order and strings exactly),
so an encoder's spelling can change while what the database stores cannot.

The test helpers are loaded with importlib (tests/ is not part of the typed tree).
"""

from __future__ import annotations

import importlib
import itertools
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bridge.mapping import MappingResult, map_logs, map_traces
from bridge.pricing.pricer import Pricer
from bridge.store.rows import COLUMNS, context_row, to_row

ROOT = Path(__file__).resolve().parent.parent
OVERRIDES = ROOT / "examples" / "price-overrides.yaml"
SPAN_ID = "00f067aa0ba902b7"
ATTRIBUTES = COLUMNS.index("attributes")

# (provider attribute or None, model): priced, unpriced, prefixed, Bedrock, Vertex, overrides.
MODELS: list[tuple[str | None, str]] = [
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-sonnet-4-20250514"),
    ("anthropic", "claude-opus-4-1-20250805"),
    ("anthropic", "claude-opus-4-6"),
    ("anthropic", "claude-haiku-4-5"),
    ("anthropic", "claude-opus-4-8"),
    ("anthropic", "claude-opus-5"),
    ("anthropic", "claude-fable-5-2"),
    ("anthropic", "claude-sonnet-4-6"),
    ("gcp.vertex_ai", "claude-opus-4-6"),
    ("gcp.gemini", "gemini-3-pro-preview"),
    ("deepseek", "deepseek-v4-flash"),
    ("anthropic", "claude-3-5-sonnet-20241022"),
    (None, "claude-sonnet-4-5"),
    ("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
    ("aws.bedrock", "global.anthropic.claude-sonnet-4-20250514-v1:0"),
    ("aws.bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0"),
    ("gcp.vertex_ai", "claude-sonnet-4@20250514"),
    ("gcp.vertex_ai", "claude-3-7-sonnet@20250219"),
    ("openai", "gpt-5"),
    ("openai", "gpt-4.1-2025-04-14"),
    ("openai", "o3"),
    ("openai", "o3-2025-04-16"),
    ("openai", "gpt-5.3-codex"),
    ("azure.ai.openai", "my-deployment"),
    ("azure.ai.openai", "gpt-4o"),
    ("gcp.gemini", "gemini-2.5-pro"),
    ("gcp.gemini", "models/gemini-2.5-flash"),
    ("gcp.gen_ai", "gemini-2.0-flash"),
    ("deepseek", "deepseek-chat"),
    ("deepseek", "deepseek-reasoner"),
    ("mistral_ai", "mistral-large-latest"),
    ("x_ai", "grok-4"),
    ("openrouter", "anthropic/claude-sonnet-4"),
    ("ollama", "llama3.1:70b"),
    ("ollama", "acme-coder-70b"),
    (None, "acme-coder-70b-q4"),
    (None, "qwen3-coder-480b"),
    (None, "totally-unknown-model"),
]
DATES = [
    datetime(2024, 6, 1, 3, tzinfo=UTC),
    datetime(2025, 3, 1, 17, 30, tzinfo=UTC),
    datetime(2025, 6, 9, 23, 59, tzinfo=UTC),
    datetime(2025, 6, 10, 0, 1, tzinfo=UTC),
    datetime(2025, 9, 30, 16, 45, tzinfo=UTC),
    datetime(2025, 12, 24, 1, tzinfo=UTC),
    datetime(2026, 1, 2, 10, tzinfo=UTC),
    datetime(2026, 1, 5, 0, 0, tzinfo=UTC),
    datetime(2026, 3, 13, 2, 30, tzinfo=UTC),
    datetime(2026, 8, 17, 7, tzinfo=UTC),
    datetime(2026, 9, 10, 3, 59, tzinfo=UTC),
    datetime(2026, 10, 1, 12, tzinfo=UTC),
]
# (input, output, cache_read, cache_write, cache_write_1h): prompt sizes around 200k.
TOKENS = [
    (0, 0, 0, 0, 0),
    (12, 800, 48_210, 3_120, 0),
    (150_000, 2_000, 50_000, 0, 0),
    (150_000, 2_000, 50_001, 0, 0),
    (10, 5, 199_000, 990, 990),
    (300_000, 9_000, 1_000_000, 20_000, 5_000),
    (1, 1, 0, 7, 3),
]
REPORTED: list[dict[str, Any]] = [
    {},
    {"agent.cost.total.usd": 0.0361785},
    {"agent.cost.total.usd": 0.0},
    {"agent.cost.estimation": "subscription"},
    {"agent.cost.input.usd": 0.01, "agent.cost.output.usd": 0.02, "agent.cost.total.usd": 0.03},
    {"agent.cost.input.usd": 0.01, "agent.cost.output.usd": 0.025, "agent.cost.total.usd": 0.03},
]
TEAMS = ["payments", "mobile", "", "platform"]
HARNESSES = ["claude-code", "codex", "pi", ""]

# Values that stress decoding, validation, cleaning and the attributes' JSON.
AWKWARD: list[Any] = [
    "",
    "x",
    "ünïcödé ✓",
    "tab\there",
    "line\nbreak",
    "nul\x00inside",
    "bell\x07",
    "All",
    "unknown",
    "a" * 300,
    "12",
    "12.5",
    "-3",
    "1e400",
    "nan",
    " 7 ",
    0,
    1,
    -1,
    7,
    10**12,
    2**62,
    0.0,
    3.5,
    -2.25,
    1e300,
    float("nan"),
    float("inf"),
    True,
    False,
    ["a", "b"],
    [1, 2.5, "c"],
    [],
    b"\x00\xff",
    {"k": "v", "n": 1},
    {"nested": {"deep": ["x", 1.5]}},
]


# Keys every adapter reads, beside those the captured payloads carry.
EXTRA_KEYS = [
    "agent.user.id", "agent.user.team", "agent.machine.id", "agent.session.id", "agent.workspace.cwd",
    "agent.workspace.repo", "agent.workspace.branch", "agent.workspace.is_ci", "agent.harness.name",
    "agent.harness.version", "agent.api.dialect", "agent.stop_reason", "agent.event.kind", "agent.event.id",
    "agent.cost.input.usd", "agent.cost.output.usd", "agent.cost.cache_read.usd",
    "agent.cost.cache_write.usd",
    "agent.cost.total.usd", "agent.cost.estimation", "agent.usage.cache_write_1h.input_tokens",
    "user.email", "user.id", "enduser.id", "user.account_uuid", "user.account_id", "user.name",
    "session.id", "conversation.id", "gen_ai.conversation.id", "copilot_chat.session_id",
    "deployment.environment.name", "deployment.environment", "host.id", "host.name",
    "vcs.repository.url.full", "vcs.repository.name", "vcs.ref.head.name", "cicd.pipeline.run.id",
    "service.name", "service.version", "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system",
    "gen_ai.request.model", "gen_ai.response.model", "gen_ai.response.id", "gen_ai.response.finish_reasons",
    "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens", "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.cost",
    "event.id", "error.type", "speed", "gen_ai.input.messages", "gen_ai.prompt.0.content", "input.value",
    "llm.model_name", "llm.token_count.prompt", "llm.token_count.completion", "ai.model.id",
    "ai.usage.promptTokens", "ai.usage.completionTokens", "codex.usage.input_tokens", "traceloop.span.kind",
]  # fmt: skip


def _support(name: str) -> Any:
    return importlib.import_module(f"tests.support.{name}")


def _with_value(raw: Any) -> Any:
    """The AnyValue for `raw`, including bytes and maps the test builder does not make."""
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

    if isinstance(raw, bytes):
        return AnyValue(bytes_value=raw)
    if isinstance(raw, dict):
        return AnyValue(
            kvlist_value=KeyValueList(values=[KeyValue(key=k, value=_with_value(v)) for k, v in raw.items()])
        )
    if isinstance(raw, list):
        return AnyValue(array_value=ArrayValue(values=[_with_value(v) for v in raw]))
    value: Any = _support("adapters").value(raw)
    return value


def _set_attrs(message: Any, attrs: dict[str, Any]) -> None:
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

    del message.attributes[:]
    message.attributes.extend(KeyValue(key=k, value=_with_value(v)) for k, v in attrs.items())


def payload_shape_requests() -> Iterator[ExportTraceServiceRequest | ExportLogsServiceRequest]:
    """The claims tests' product of payload shapes, resources, scopes and names."""
    adapters, claims = _support("adapters"), _support("claims")
    sets = claims.payload_attribute_sets()
    sets = [*sets, *({**a, "agent.session.id": "s-1"} for a in sets)]
    for resource, scope in itertools.product(claims.payload_resources(), claims.PAYLOAD_SCOPES):
        spans = [
            adapters.span(name, attrs, SPAN_ID, parent="b7ad6b7169203331" if i % 2 else "")
            for i, (name, attrs) in enumerate(itertools.product(claims.PAYLOAD_SPAN_NAMES, sets))
        ]
        yield adapters.traces(resource, spans, scope=scope)
    for resource, scope in itertools.product(
        claims.payload_resources(), ("tests", "codex_otel.log_only", "gemini-cli")
    ):
        records = [
            adapters.log(attrs, event_name=name, body=body)
            for name, attrs in itertools.product(claims.PAYLOAD_EVENT_NAMES, sets)
            for body in (None, name)
        ]
        yield adapters.logs(resource, records, scope=scope)
    run = _support("payloads.copilot").copilot_agent_run()
    yield adapters.traces(run.resource, run.spans, scope="copilot-chat")
    yield _support("payloads.gemini_cli").gemini_traces()


def pricing_requests() -> Iterator[ExportTraceServiceRequest]:
    """`agent.*` model-call spans over MODELS × DATES × TOKENS, with speed, costs, teams, harnesses."""
    adapters = _support("adapters")
    n = 0
    for (provider, model), ts in itertools.product(MODELS, DATES):
        spans = []
        for tokens, reported, fast in itertools.product(TOKENS, REPORTED, (False, True)):
            n += 1
            inp, out, read, write, one_hour = tokens
            attrs: dict[str, Any] = {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model if n % 3 else model.upper(),
                "gen_ai.response.model": model if n % 5 else "",
                "gen_ai.usage.input_tokens": inp,
                "gen_ai.usage.output_tokens": out,
                "gen_ai.usage.cache_read.input_tokens": read,
                "gen_ai.usage.cache_creation.input_tokens": write,
                "agent.usage.cache_write_1h.input_tokens": one_hour,
                "agent.user.id": f"dev{n % 7}@example.com",
                "agent.user.team": TEAMS[n % len(TEAMS)],
                "agent.harness.name": HARNESSES[n % len(HARNESSES)],
                "agent.session.id": f"s-{n % 11}",
                **reported,
            }
            if provider is not None:
                attrs["gen_ai.provider.name"] = provider
            if fast:
                attrs["speed"] = "fast" if n % 4 else " FAST "
            if n % 9 == 0:
                attrs["user.email"] = "ci-bot@example.com"
                del attrs["agent.user.id"]
            start = int(ts.timestamp()) * 1_000_000_000 + n * 1_000
            spans.append(adapters.span("chat " + model, attrs, f"{n:016x}", start_ns=start))
        yield adapters.traces({"service.name": "pricing-sweep"}, spans)


def random_requests(seed: int, count: int) -> Iterator[ExportTraceServiceRequest | ExportLogsServiceRequest]:
    """Records drawn from the suite's attribute keys with AWKWARD values (and sane usage often)."""
    adapters, claims = _support("adapters"), _support("claims")
    # Keys and names from the captured payloads and fixed lists only (not harvested from the
    # sources, which the optimisations under test change): the corpus must not move with them.
    shapes = [*claims.payload_attribute_sets(), *claims.payload_resources()]
    keys = sorted({key for attrs in shapes for key in attrs} | set(EXTRA_KEYS))
    usage_keys = [k for k in keys if "token" in k or "cost" in k or k.startswith(("gen_ai.", "agent."))]
    rng = random.Random(seed)
    names = [*claims.PAYLOAD_SPAN_NAMES, *claims.PAYLOAD_EVENT_NAMES, "chat", "llm", "x" * 600]
    scopes = list(claims.PAYLOAD_SCOPES)
    resources = claims.payload_resources()
    models = [m for _, m in MODELS]
    per_request = 200
    for start in range(0, count, per_request):
        spans, logs = [], []
        for i in range(start, min(count, start + per_request)):
            attrs: dict[str, Any] = {}
            if rng.random() < 0.7:
                attrs["gen_ai.request.model"] = rng.choice(models)
                attrs["gen_ai.usage.input_tokens"] = rng.choice([rng.randrange(0, 300_000), "42", 1.0])
                attrs["gen_ai.usage.output_tokens"] = rng.randrange(0, 5_000)
            for _ in range(rng.randrange(0, 10)):
                key = rng.choice(usage_keys if rng.random() < 0.5 else keys)
                attrs[key] = rng.choice(AWKWARD) if rng.random() < 0.5 else rng.randrange(0, 100_000)
            if rng.random() < 0.3:
                attrs[rng.choice(["agent.user.id", "user.email", "session.id", "agent.workspace.repo"])] = (
                    rng.choice(AWKWARD)
                )
            day = datetime(2025, 1, 1, tzinfo=UTC).timestamp() + rng.randrange(0, 365 * 86400)
            start_ns = int(day) * 1_000_000_000 + rng.randrange(0, 10**9)
            if rng.random() < 0.02:
                start_ns = rng.choice([0, 10**9, 2**63 - 1])
            span = adapters.span(
                rng.choice(names),
                {},
                rng.choice([f"{i + 1:016x}", "0000000000000000", f"{i + 1:016x}"]),
                parent=rng.choice(["", f"{i + 7:016x}"]),
                start_ns=start_ns,
                error=rng.random() < 0.1,
            )
            _set_attrs(span, attrs)
            spans.append(span)
            record = adapters.log(
                {},
                event_name=rng.choice(list(claims.PAYLOAD_EVENT_NAMES)),
                time_ns=start_ns,
                body=rng.choice([None, "claude_code.api_request", "x"]),
                trace_id=rng.choice(["", adapters.TRACE_ID]),
                span_id=rng.choice(["", f"{i + 1:016x}"]),
            )
            _set_attrs(record, attrs)
            logs.append(record)
        resource = rng.choice(resources)
        scope = rng.choice(scopes)
        yield adapters.traces(resource, spans, scope=scope)
        yield adapters.logs(resource, logs, scope=scope)


def corpus(bench_bodies: list[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
    """(signal, serialised request) for the whole corpus, in a fixed order."""
    yield from bench_bodies
    for request in itertools.chain(payload_shape_requests(), pricing_requests(), random_requests(1, 20_000)):
        signal = "trace" if isinstance(request, ExportTraceServiceRequest) else "log"
        yield signal, request.SerializeToString()


def dump_lines(bench_bodies: list[tuple[str, bytes]]) -> Iterator[str]:
    pricers = [("list", Pricer()), ("overrides", Pricer(OVERRIDES))]
    for n, (signal, body) in enumerate(corpus(bench_bodies)):
        for label, pricer in pricers:
            mapped: MappingResult
            if signal == "trace":
                mapped = map_traces(ExportTraceServiceRequest.FromString(body))
            else:
                mapped = map_logs(ExportLogsServiceRequest.FromString(body))
            yield f"# request {n} {signal} {label} records={mapped.records} ignored={mapped.ignored}"
            for call in mapped.calls:
                yield repr(_parsed_attributes(to_row(call, pricer.price(call))))
            for ctx in mapped.contexts:
                yield "ctx " + repr(context_row(ctx))
            for rejection in mapped.rejections:
                yield "rej " + repr((rejection.reason, rejection.example))


def _parsed_attributes(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The row with its attributes JSON text replaced by the value it encodes (see above)."""
    return (*row[:ATTRIBUTES], ("json", json.loads(row[ATTRIBUTES])), *row[ATTRIBUTES + 1 :])


def dump(path: Path, bench_bodies: list[tuple[str, bytes]]) -> int:
    lines = 0
    with path.open("w", encoding="utf-8", errors="surrogatepass") as out:
        for line in dump_lines(bench_bodies):
            out.write(line + "\n")
            lines += 1
    return lines


def check(path: Path, bench_bodies: list[tuple[str, bytes]]) -> tuple[int, list[str]]:
    """(lines compared, the first differences as `expected` / `got` pairs)."""
    problems: list[str] = []
    compared = 0
    with path.open(encoding="utf-8", errors="surrogatepass") as expected_file:
        expected_lines = (line.rstrip("\n") for line in expected_file)
        for expected, got in itertools.zip_longest(expected_lines, dump_lines(bench_bodies)):
            compared += 1
            if expected != got:
                problems.append(f"line {compared}:\n  expected {expected!r:.600}\n  got      {got!r:.600}")
                if len(problems) >= 5:
                    break
    return compared, problems
