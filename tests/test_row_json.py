"""The attributes column's JSON: orjson's text is not json.dumps's, but PostgreSQL stores the same JSONB.

`bridge.store.rows.attributes_json` encodes a call's attributes with orjson (compact, `1e300`
for `1e+300`), falling back to `json.dumps(default=str, ensure_ascii=False)` for what orjson
refuses (ints beyond 64 bits, keys that are not strings, invalid UTF-8, deep nesting). What
matters is the stored value: both texts are COPYed into JSONB columns, as the writer does,
and compared with `=` in the database.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import random
import sys
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bridge.mapping import map_logs, map_traces
from bridge.model import clean_value
from bridge.pricing.pricer import Pricer
from bridge.store.rows import attributes_json


@dataclasses.dataclass
class _Point:
    x: int
    y: str


def _old(value: Any) -> str:
    """What `to_row` stored before orjson."""
    return json.dumps(value, default=str, ensure_ascii=False)


EDGE_CASES: list[dict[str, Any]] = [
    {},
    {"gen_ai.request.model": "gpt-4.1", "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 0},
    {"nested": {"a": {"b": {"c": [1, 2, {"d": None}]}}}, "empty": {}, "list": []},
    {"unicode": "héllo wörld ✓ 日本語 🚀", "ключ": "значение", "tab\tnew\nline": '"quoted" \\ back'},
    {"controls": "\x01\x1f\x7f", "escape": "\u2028\u2029", "emoji_key_😀": True},
    {"big": 2**63, "bigger": 2**64 - 1, "beyond": 2**64, "huge": 10**40, "negative": -(2**63) - 1},
    {"ints": [0, -1, 2**31, -(2**63), 2**63 - 1]},
    {"floats": [1e300, -1e300, 0.1, 0.2 + 0.1, -0.0, 0.0, 5e-324, 1.7976931348623157e308, 123456789.125]},
    {"f": 1e16, "g": 1e-7, "h": 1.5e-10, "i": 2.0, "j": -3.25},
    {"bools": [True, False], "none": None, "mixed": [1, "a", 2.5, None, True, {"k": "v"}]},
    {"decimal": Decimal("0.0361785"), "exp": Decimal("1E+3"), "neg": Decimal("-0.00")},
    {"datetime": datetime(2026, 1, 15, 12, 0, 1, 500, tzinfo=UTC), "date": date(2026, 1, 15)},
    {"naive": datetime(2026, 1, 15, 12, 0), "uuid": uuid.UUID(int=12345), "bytes": b"\x00\xff"},
    {"dataclass": _Point(1, "y"), "tuple": (1, "two", 3.0), "set_like": frozenset()},
    {"deep": json.loads("[" * 300 + "]" * 300)},  # deeper than orjson's limit: the json fallback
    {1: "int key", None: "none key", 2.5: "float key", False: "bool key"},  # the json fallback
    # Non-finite floats: validate_call makes them strings before a row is built (clean_value).
    clean_value({"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "list": [math.nan, 1.0]}),
]


def _random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice(
            ["", "x", "é", "日本", "a\\b", '"', "\x01", "🚀", "nul-free text " * rng.randrange(5)]
        )
    if kind == 1:
        return rng.choice(
            [0, 1, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**70), rng.randrange(10**9)]
        )
    if kind == 2:
        return rng.choice(
            [0.1, -0.0, 1e300, 1e-300, 3.14159, 1e21, 1e22, rng.random() * 10 ** rng.randrange(-20, 20)]
        )
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return Decimal(rng.randrange(10**8)) / Decimal(10 ** rng.randrange(12))
    if kind == 5:
        return datetime(2026, 1, 1, tzinfo=UTC).replace(microsecond=rng.randrange(10**6))
    if kind in (6, 7):
        return {
            f"k{i}.{rng.choice(['a', 'é', '1'])}": _random_value(rng, depth + 1)
            for i in range(rng.randrange(6))
        }
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(6))]


def _random_maps(count: int) -> list[dict[str, Any]]:
    rng = random.Random(12)
    return [
        {
            f"attr.{i}.{rng.choice(['x', 'ü', 'gen_ai'])}": _random_value(rng, 0)
            for i in range(rng.randrange(1, 25))
        }
        for _ in range(count)
    ]


def _corpus_maps() -> list[dict[str, Any]]:
    """The attributes of the calls mapped from the bench's corpus (bench/mapping_corpus.py): the
    seeder mix, the harness log shapes, the captured payload shapes and seeded awkward records
    (NUL, NaN, huge numbers, lists, maps), priced, as `to_row` receives them."""
    bench = Path(__file__).resolve().parent.parent / "bench"
    sys.path.insert(0, str(bench))
    try:
        import bench_mapping
        import mapping_corpus
    finally:
        sys.path.remove(str(bench))
    bodies = [
        (p.signal, p.body) for p in bench_mapping.seeder_payloads(2, 5, 1) + bench_mapping.log_payloads(200)
    ]
    requests = itertools.chain(
        ((signal, body) for signal, body in bodies),
        ((type(r).__name__, r.SerializeToString()) for r in mapping_corpus.payload_shape_requests()),
        ((type(r).__name__, r.SerializeToString()) for r in mapping_corpus.random_requests(7, 2000)),
    )
    pricer = Pricer()
    maps = []
    for signal, body in requests:
        if signal in ("trace", "ExportTraceServiceRequest"):
            calls = map_traces(ExportTraceServiceRequest.FromString(body)).calls
        else:
            calls = map_logs(ExportLogsServiceRequest.FromString(body)).calls
        for call in calls:
            pricer.price(call)
            maps.append(call.attributes)
    return maps


def test_orjson_text_encodes_the_same_value_as_json_dumps() -> None:
    for attrs in [*EDGE_CASES, *_random_maps(2000)]:
        try:
            expected = json.loads(_old(attrs))
        except RecursionError:
            continue
        assert json.loads(attributes_json(attrs)) == expected, attrs


def test_what_orjson_refuses_is_encoded_by_json_exactly() -> None:
    for attrs in (
        {"beyond": 2**64},
        {1: "int key"},
        {"lone surrogate": "\ud800"},
        {"deep": json.loads("[" * 300 + "]" * 300)},
    ):
        assert attributes_json(attrs) == _old(attrs)


@pytest.mark.parametrize("source", ["edge cases", "random", "mapped corpus"])
def test_stored_jsonb_is_equal(database_url: str, source: str) -> None:
    sources = {
        "edge cases": lambda: EDGE_CASES,
        "random": lambda: _random_maps(3000),
        "mapped corpus": _corpus_maps,
    }
    maps = sources[source]()
    assert maps
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TEMP TABLE pair (n int, a jsonb, b jsonb, a_text text, b_text text)")
        with conn.cursor() as cur, cur.copy("COPY pair (n, a, b, a_text, b_text) FROM STDIN") as copy:
            for n, attrs in enumerate(maps):
                old, new = _old(attrs), attributes_json(attrs)
                copy.write_row((n, old, new, old, new))
            copy.write_row((-1, '{"a": 1.0}', '{"a":1}', '{"a": 1.0}', '{"a":1}'))  # the control
        unequal = conn.execute("SELECT n, a_text, b_text FROM pair WHERE a IS DISTINCT FROM b").fetchall()
        assert unequal == []
        # Also as the text the database re-emits (stricter: 1.0 = 1 as JSONB, not as its text; the
        # control row proves the query sees a difference), and cast from text outside COPY.
        assert conn.execute("SELECT n FROM pair WHERE a::text <> b::text").fetchall() == [(-1,)]
        conn.execute("DELETE FROM pair WHERE n = -1")
        assert conn.execute("SELECT count(*) FROM pair WHERE a_text::jsonb <> b_text::jsonb").fetchone() == (
            0,
        )
        assert conn.execute("SELECT count(*) FROM pair").fetchone() == (len(maps),)
