"""The wire reader (bridge/mapping/wire.py) against the protobuf objects it replaces.

`records.iter_spans` / `iter_logs` read each ResourceSpans / ResourceLogs from upb's own
encoding of it; `_spans_of` / `_logs_of` read the same message through the protobuf objects,
as the bridge did before. The two must give identical records (every field, every attribute
value and type, the clean flag) for: every captured payload shape of the suite under every
test resource, seeded random attribute trees of every AnyValue kind (nested arrays and maps,
empty values, NUL, non-UTF-8-safe text, NaN, huge and negative numbers, bytes), unknown
fields and known fields with a wrong wire type (which upb keeps as unknown), and randomly
mutated requests that upb still parses. What the reader does not handle (string-table
indexes) must go the protobuf way, and the corpus must mostly not.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from bridge.mapping import records, wire, wire_records
from bridge.mapping.records import _logs_of, _spans_of, iter_logs, iter_spans, logs_from_wire, spans_from_wire
from tests.support import adapters, claims

SPAN_ID = "00f067aa0ba902b7"
TEXTS = ["", "a", "x" * 300, "naïve ☃ 𝄞", "nul\x00inside", "\u200b", "42", " 7 ", "1e3", "ctl\x07\x1b"]
FLOATS = [0.0, -0.0, 1.5, -2.25, 1e300, math.inf, -math.inf, math.nan, 5e-324]
INTS = [0, 1, -1, 42, 2**31, -(2**31), 2**62, 2**63 - 1, -(2**63)]


def test_the_bridge_reads_the_wire_exactly_when_compiled() -> None:
    """Interpreted, the wire reader is slower than upb's objects: on only where compiled."""
    compiled = not wire.__file__.endswith(".py")
    assert compiled == records.WIRE_READS
    assert (not records.__file__.endswith(".py")) == compiled  # built together by make native


def _random_value(rng: random.Random, depth: int = 0) -> AnyValue:
    """An AnyValue of any kind, nested up to three levels; sometimes empty."""
    value = AnyValue()
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        value.string_value = rng.choice(TEXTS)
    elif kind == 1:
        value.bool_value = rng.random() < 0.5
    elif kind == 2:
        value.int_value = rng.choice(INTS)
    elif kind == 3:
        value.double_value = rng.choice(FLOATS)
    elif kind == 4:
        value.bytes_value = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 20)))
    elif kind == 5:
        pass  # no member set: None
    elif kind in (6, 7):
        for _ in range(rng.randrange(0, 4)):
            value.array_value.values.append(_random_value(rng, depth + 1))
        if not value.array_value.values:
            value.array_value.SetInParent()
    else:
        for _ in range(rng.randrange(0, 4)):
            value.kvlist_value.values.append(_random_kv(rng, depth + 1))
        if not value.kvlist_value.values:
            value.kvlist_value.SetInParent()
    return value


def _random_kv(rng: random.Random, depth: int = 0) -> KeyValue:
    kv = KeyValue(key=rng.choice([*TEXTS, "gen_ai.usage.input_tokens", "session.id", "k"]))
    if rng.random() < 0.9:  # else: a KeyValue without a value
        kv.value.CopyFrom(_random_value(rng, depth))
    return kv


def _attrs(rng: random.Random, shapes: list[dict[str, Any]]) -> list[KeyValue]:
    """A captured payload's attributes, or random ones, or both."""
    out = adapters.kvs(rng.choice(shapes)) if rng.random() < 0.6 else []
    out += [_random_kv(rng) for _ in range(rng.randrange(0, 6))]
    return out


def random_traces(seed: int, requests: int) -> Iterator[ExportTraceServiceRequest]:
    rng = random.Random(seed)
    shapes, resources = claims.payload_attribute_sets(), claims.payload_resources()
    for _ in range(requests):
        request = ExportTraceServiceRequest()
        for _ in range(rng.randrange(1, 4)):
            block = request.resource_spans.add()
            block.resource.attributes.extend(adapters.kvs(rng.choice(resources)))
            block.resource.attributes.extend(_random_kv(rng) for _ in range(rng.randrange(0, 2)))
            block.schema_url = rng.choice(["", "https://opentelemetry.io/schemas/1.26.0"])
            for _ in range(rng.randrange(1, 3)):
                scope = block.scope_spans.add()
                scope.scope.name = rng.choice([*claims.PAYLOAD_SCOPES, ""])
                scope.scope.version = rng.choice(["", "1.2.3"])
                for _ in range(rng.randrange(0, 6)):
                    span = adapters.span(
                        rng.choice([*claims.PAYLOAD_SPAN_NAMES, "", "chat gpt-4o"]),
                        {},
                        rng.choice([f"{rng.randrange(1, 2**64):016x}", "0000000000000000"]),
                        parent=rng.choice(["", f"{rng.randrange(1, 2**64):016x}"]),
                        start_ns=rng.choice([0, 1_700_000_000_123_456_789, 2**63 - 1]),
                        error=rng.random() < 0.3,
                    )
                    span.attributes.extend(_attrs(rng, shapes))
                    span.trace_state = rng.choice(["", "vendor=1"])
                    span.status.message = rng.choice(["", "boom", "nul\x00"])
                    if rng.random() < 0.2:
                        span.status.code = rng.choice([0, 1, 2, 3])
                    if rng.random() < 0.3:
                        event = span.events.add(name="exception", time_unix_nano=5)
                        event.attributes.extend(_attrs(rng, shapes))
                    if rng.random() < 0.2:
                        span.links.add(trace_id=bytes(16), span_id=bytes(8), flags=1)
                    span.flags = rng.choice([0, 1, 257])
                    span.dropped_attributes_count = rng.choice([0, 3])
                    scope.spans.append(span)
        yield request


def random_logs(seed: int, requests: int) -> Iterator[ExportLogsServiceRequest]:
    rng = random.Random(seed)
    shapes, resources = claims.payload_attribute_sets(), claims.payload_resources()
    for _ in range(requests):
        records = []
        for _ in range(rng.randrange(0, 8)):
            record = adapters.log(
                {},
                event_name=rng.choice([*claims.PAYLOAD_EVENT_NAMES, ""]),
                time_ns=rng.choice([0, 1_700_000_000_123_456_789]),
                body=None,
                trace_id=rng.choice(["", adapters.TRACE_ID]),
                span_id=rng.choice(["", "00f067aa0ba902b7"]),
            )
            record.attributes.extend(_attrs(rng, shapes))
            if rng.random() < 0.2:
                record.attributes.add(key="event.name", value=AnyValue(string_value="api_request"))
            if rng.random() < 0.6:
                record.body.CopyFrom(_random_value(rng))
            record.observed_time_unix_nano = rng.choice([0, 1_700_000_000_999_000_000])
            record.severity_text = rng.choice(["", "INFO"])
            record.severity_number = rng.choice([0, 9])
            record.flags = rng.choice([0, 1])
            records.append(record)
        yield adapters.logs(rng.choice(resources), records, scope=rng.choice([*claims.PAYLOAD_SCOPES, ""]))


def _same_records(request: ExportTraceServiceRequest | ExportLogsServiceRequest) -> None:
    """Each block read from the wire (where the reader takes it) equals the protobuf objects'
    reading, and so does what the bridge's iter_spans / iter_logs yield (repr: NaN included)."""
    if isinstance(request, ExportTraceServiceRequest):
        slow_blocks: list[list[Any]] = [list(_spans_of(b)) for b in request.resource_spans]
        fast_blocks = [_read(spans_from_wire, b) for b in request.resource_spans]
        bridge: list[Any] = list(iter_spans(request))
    else:
        slow_blocks = [list(_logs_of(b)) for b in request.resource_logs]
        fast_blocks = [_read(logs_from_wire, b) for b in request.resource_logs]
        bridge = list(iter_logs(request))
    for fast, slow in zip(fast_blocks, slow_blocks, strict=True):
        if fast is not None:
            assert repr(fast) == repr(slow)
    assert repr(bridge) == repr([r for block in slow_blocks for r in block])


def _read(reader: Callable[[Any], list[Any]], block: Any) -> list[Any] | None:
    try:
        return reader(block)
    except ValueError:
        return None


def _wire_reads(request: ExportTraceServiceRequest | ExportLogsServiceRequest) -> bool:
    """Did the wire reader take every block itself (no hand-back)?"""
    if isinstance(request, ExportTraceServiceRequest):
        return all(_read(spans_from_wire, b) is not None for b in request.resource_spans)
    return all(_read(logs_from_wire, b) is not None for b in request.resource_logs)


@pytest.mark.parametrize("make", [random_traces, random_logs], ids=["traces", "logs"])
def test_random_requests_read_the_same_as_through_the_protobuf_objects(
    make: Callable[[int, int], Iterator[Any]],
) -> None:
    requests = list(make(7, 150))
    for request in requests:
        _same_records(request)
    # The comparison is not vacuous: the wire reader read all of it itself, hundreds of records.
    assert all(_wire_reads(r) for r in requests)
    assert sum(r.ByteSize() for r in requests) > 100_000


def test_every_captured_payload_shape_reads_the_same() -> None:
    resources = claims.payload_resources()
    for i, attrs in enumerate(claims.payload_attribute_sets()):
        resource = resources[i % len(resources)]
        span = adapters.span("chat", attrs, f"{i + 1:016x}")
        traces = adapters.traces(resource, [span])
        logs = adapters.logs(resource, [adapters.log(attrs, event_name="api_request")])
        for request in (traces, logs):
            assert _wire_reads(request)
            _same_records(request)


def _with_unknown(message: Any, raw: bytes) -> None:
    message.MergeFromString(raw)  # bytes upb keeps as unknown fields and writes back out


@pytest.mark.parametrize(
    "raw",
    [
        b"\x98\x06\x01",  # field 99, varint
        b"\x9a\x06\x03abc",  # field 99, length-delimited
        b"\x9d\x06\x01\x02\x03\x04",  # field 99, fixed32
        b"\x99\x06" + bytes(8),  # field 99, fixed64
        b"\x48\x01",  # field 9 (attributes) as a varint: a wrong wire type, kept as unknown
        b"\x28\x05",  # field 5 (name) as a varint
        b"\x3d\x01\x02\x03\x04",  # field 7 (start time) as fixed32
    ],
)
def test_unknown_fields_and_wrong_wire_types_read_as_upb_reads_them(raw: bytes) -> None:
    request = adapters.traces(
        {"service.name": "svc"}, [adapters.span("chat", {"gen_ai.request.model": "m"}, SPAN_ID)]
    )
    span = request.resource_spans[0].scope_spans[0].spans[0]
    _with_unknown(span, raw)
    _with_unknown(span.attributes[0], raw)  # KeyValue: every one of these is unknown to it
    _with_unknown(span.attributes[0].value, b"\x98\x06\x01")  # AnyValue field 99
    _with_unknown(request.resource_spans[0].resource, raw)
    assert _wire_reads(request)
    _same_records(request)


def test_string_table_indexes_go_the_protobuf_way() -> None:
    """Profiles' string-table fields (key_strindex, string_value_strindex) are not read here:
    the block is read through the protobuf objects, with the same result as before."""
    for kv in (KeyValue(key="k", key_strindex=3), KeyValue(key="k", value=AnyValue(string_value_strindex=4))):
        request = adapters.traces({"service.name": "svc"}, [adapters.span("chat", {}, SPAN_ID)])
        request.resource_spans[0].scope_spans[0].spans[0].attributes.append(kv)
        with pytest.raises(wire.Unusual):
            wire_records.resource_spans(request.resource_spans[0].SerializeToString())
        _same_records(request)


def test_truncated_or_malformed_bytes_are_unusual_never_a_wrong_record() -> None:
    block = random_traces(3, 1).__next__().resource_spans[0].SerializeToString()
    for cut in range(1, len(block)):
        try:
            raw = wire_records.resource_spans(block[:cut])
        except ValueError:
            continue  # Unusual or UnicodeDecodeError: the caller reads the message instead
        # A prefix that happens to end on a field boundary is a valid, shorter message: the
        # same records as upb reads from it.
        try:
            parsed = ResourceSpans.FromString(block[:cut])
        except DecodeError:
            pytest.fail(f"wire read {cut} bytes that upb refuses")
        assert repr(raw) == repr(wire_records.resource_spans(parsed.SerializeToString()))
        assert repr(spans_from_wire(parsed)) == repr(list(_spans_of(parsed)))


def test_mutated_requests_that_upb_parses_read_the_same() -> None:
    rng = random.Random(11)
    bodies = [r.SerializeToString() for r in random_traces(5, 20)]
    log_bodies = [r.SerializeToString() for r in random_logs(5, 20)]
    parsed = 0
    for _ in range(600):
        traces = rng.random() < 0.5
        body = bytearray(rng.choice(bodies if traces else log_bodies))
        for _ in range(rng.randrange(1, 4)):
            if body:
                body[rng.randrange(len(body))] = rng.randrange(256)
        message: Any = ExportTraceServiceRequest() if traces else ExportLogsServiceRequest()
        try:
            message.ParseFromString(bytes(body))
        except DecodeError:
            continue
        parsed += 1
        _same_records(message)
    assert parsed > 100  # enough mutations survive upb to make the comparison worth something
