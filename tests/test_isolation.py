"""One bad record never fails anyone else's data (issue 9 items 1, 2 and the poison part of 7).

Writer level: submissions merged into one batch where one holds a row the database refuses
(built past the edge validation); everything else is committed and only the refused rows are
reported back, to their own sender. End to end: a real bridge, concurrent OpenTelemetry SDK
exporters sending valid spans while another client sends poison; no valid span is lost.
"""

from __future__ import annotations

import threading
import urllib.request
import uuid

import grpc
import psycopg
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.support.adapters import span, traces
from tests.support.bridge_process import BridgeProcess
from tests.support.calls import model_call, poison_row, row_of, write_together
from tests.support.db import rows
from tests.support.otlp import NOW_NS, chat_span, post, sdk_tracer

POISON_KINDS = ("nul", "cost", "long_user", "long_key")


@pytest.mark.parametrize("kind", POISON_KINDS)
def test_refused_row_is_isolated_and_reported_to_its_sender_only(database_url: str, kind: str) -> None:
    good_a = [row_of(model_call(f"a{i}@example.com")) for i in range(3)]
    good_b = [row_of(model_call(f"b{i}@example.com")) for i in range(2)]
    mixed = [row_of(model_call("c0@example.com")), poison_row(kind), row_of(model_call("c1@example.com"))]
    writer, (a, c, b) = write_together(database_url, [good_a, mixed, good_b])

    assert (a.written, a.rejected) == (3, [])
    assert (b.written, b.rejected) == (2, [])
    assert c.written == 2 and c.duplicates == 0 and len(c.rejected) == 1
    reason, example = c.rejected[0]
    assert reason.startswith("database refused the record")
    assert "\x00" not in reason and "\x00" not in str(example)
    assert writer.database_up, "a refused row must not mark the database down"
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(7,)]
    assert rows(
        database_url,
        "SELECT sum(records_received), sum(rows_written), sum(duplicates_skipped), sum(rejected)"
        " FROM ingest_stats",
    ) == [(7, 7, 0, 1)]
    ((logged,),) = rows(
        database_url, "SELECT sum(count) FROM ingest_rejections WHERE reason LIKE %s", ("database refused%",)
    )
    assert logged == 1


def test_refusal_names_the_column(database_url: str) -> None:
    _, (result,) = write_together(database_url, [[poison_row("cost")]])
    assert result.written == 0 and len(result.rejected) == 1
    assert "reported_cost_usd" in result.rejected[0][0] and "22003" in result.rejected[0][0]


def test_several_poison_rows_in_one_submission_are_all_found(database_url: str) -> None:
    good = [row_of(model_call(f"u{i}@example.com")) for i in range(20)]
    submission = [*good[:5], poison_row("nul"), *good[5:15], poison_row("long_user"), *good[15:]]
    writer, (result,) = write_together(database_url, [submission])
    assert result.written == 20 and len(result.rejected) == 2 and result.duplicates == 0
    assert writer.database_up
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs") == [(20,)]


def test_nul_in_a_display_attribute_is_refused_by_the_database_when_edge_checks_are_bypassed(
    database_url: str,
) -> None:
    """The edge strips NUL from attributes (test_integrity); unstripped, JSONB refuses it."""
    _, (result,) = write_together(database_url, [[poison_row("nul_attribute"), row_of(model_call())]])
    assert result.written == 1 and len(result.rejected) == 1


def test_hot_path_stays_one_transaction(database_url: str) -> None:
    """No refusal: the merged batch is one COPY + INSERT, every submission answered from it."""
    subs = [[row_of(model_call(f"s{i}-{j}@example.com")) for j in range(50)] for i in range(4)]
    writer, results = write_together(database_url, subs)
    assert [r.written for r in results] == [50, 50, 50, 50]
    # One batch observed by the histogram: the four submissions were written together.
    assert writer.metrics.batch_rows._sum.get() == 200
    assert rows(database_url, "SELECT count(*) FROM ingest_stats") == [(1,)]


# -- end to end -----------------------------------------------------------------------------------
SENDERS = 4
SPANS_PER_SENDER = 25
MODEL = "claude-sonnet-4-5"


def _attrs(i: int) -> dict[str, object]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL,
        "gen_ai.usage.input_tokens": 100 + i,
        "gen_ai.usage.output_tokens": 10,
    }


def _poison_spans() -> list[tuple[str, object]]:
    """(expected reason fragment, span) pairs, each refused at the edge."""
    trace = uuid.uuid4().hex

    def sid() -> str:
        return uuid.uuid4().hex[:16]

    base = _attrs(0)
    no_model = {k: v for k, v in base.items() if k != "gen_ai.request.model"}
    return [
        ("but no gen_ai.request.model", span("chat\x00poison", no_model, sid(), trace_id=trace)),
        (
            "user_id: contains a NUL",
            span("chat", {**base, "agent.user.id": "mallory\x00"}, sid(), trace_id=trace),
        ),
        ("user_id: longer than", span("chat", {**base, "agent.user.id": "m" * 5000}, sid(), trace_id=trace)),
        ("reported_cost.total", span("chat", {**base, "agent.cost.total.usd": 1e12}, sid(), trace_id=trace)),
        ("trace_id: empty or invalid", span("chat", base, sid(), trace_id="ab" * 4096)),
        ("span_id: empty or invalid", span("chat", base, "", trace_id=trace)),
    ]


def _metric(bridge: BridgeProcess, name: str) -> float:
    with urllib.request.urlopen(f"{bridge.http_url}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.mark.e2e
def test_poison_never_costs_a_valid_span(bridge: BridgeProcess, database_url: str) -> None:
    stop = threading.Event()
    errors: list[str] = []
    poison_answers: list[tuple[int, int, str]] = []
    database_up: list[float] = []

    def sender(n: int) -> None:
        exporter = (
            GrpcSpanExporter(endpoint=bridge.grpc_url, insecure=True, compression=grpc.Compression.Gzip)
            if n % 2 == 0
            else HttpSpanExporter(endpoint=f"{bridge.http_url}/v1/traces")
        )
        resource = {"service.name": f"sender-{n}", "agent.user.id": f"sender{n}@example.com"}
        try:
            with sdk_tracer(exporter, resource) as tracer:
                for i in range(SPANS_PER_SENDER):
                    chat_span(tracer, f"chat {MODEL}", _attrs(i), start_ns=NOW_NS + i * 1_000_000)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    def poisoner() -> None:
        while not stop.is_set():
            cases = _poison_spans()
            body = traces({"service.name": "poison"}, [s for _, s in cases]).SerializeToString()  # type: ignore[misc]
            status, _, answer = post(f"{bridge.http_url}/v1/traces", body, "application/x-protobuf")
            response = ExportTraceServiceResponse.FromString(answer)
            poison_answers.append(
                (status, response.partial_success.rejected_spans, response.partial_success.error_message)
            )
            database_up.append(_metric(bridge, "agent_spend_database_up"))
            stop.wait(0.2)

    poison = threading.Thread(target=poisoner)
    poison.start()
    senders = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(timeout=60)
    stop.set()
    poison.join(timeout=10)
    assert not errors, errors

    # SimpleSpanProcessor exports each span as it ends; an export that failed is logged and lost,
    # so every span sent must be a row.
    stored = rows(
        database_url,
        "SELECT user_id, count(*) FROM agent_spend_logs WHERE user_id LIKE 'sender%%' GROUP BY 1 ORDER BY 1",
    )
    assert stored == [(f"sender{n}@example.com", SPANS_PER_SENDER) for n in range(SENDERS)]
    assert rows(database_url, "SELECT count(*) FROM agent_spend_logs WHERE harness_name = 'poison'") == [(0,)]
    assert poison_answers, "the poison client never got an answer"
    cases = len(_poison_spans())
    for status, rejected, message in poison_answers:
        assert status == 200 and rejected == cases, (status, rejected, message)
        assert message.startswith(f"rejected {cases} of {cases} records; first: ")
    assert set(database_up) == {1.0}
    assert _metric(bridge, "agent_spend_database_up") == 1.0
    reasons = {r for (r,) in rows(database_url, "SELECT DISTINCT reason FROM ingest_rejections")}
    for fragment, _ in _poison_spans():
        assert any(fragment in r for r in reasons), (fragment, reasons)


def test_a_batch_aborted_by_a_deadlock_is_run_again_not_reported_as_database_down(database_url: str) -> None:
    """PostgreSQL aborts one of two writers that lock the same rows in opposite orders (40P01).

    The abort is real: a trigger raises deadlock_detected on the first stats upsert, as the
    server does when another bridge holds the row; the writer retries the whole transaction."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE stats_upserts")  # not rolled back with the aborted transaction
        conn.execute(
            """CREATE FUNCTION abort_once() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                   IF nextval('stats_upserts') = 1 THEN
                       RAISE EXCEPTION 'deadlock detected (test)' USING ERRCODE = 'deadlock_detected';
                   END IF;
                   RETURN NEW;
               END $$"""
        )
        conn.execute(
            "CREATE TRIGGER abort_once BEFORE INSERT ON ingest_stats"
            " FOR EACH ROW EXECUTE FUNCTION abort_once()"
        )
    rows = [row_of(model_call(f"dev{i}@example.com")) for i in range(5)]
    writer, [result] = write_together(database_url, [rows])
    assert (result.written, result.duplicates, result.rejected) == (5, 0, [])
    assert writer.database_up
    assert writer.metrics.write_conflicts._value.get() == 1
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM agent_spend_logs").fetchone() == (5,)
        assert conn.execute("SELECT last_value FROM stats_upserts").fetchone() == (2,)  # aborted, then done
