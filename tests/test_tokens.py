"""Hashed ingest tokens, tokens bound to an identity, blank-token refusal, and the /metrics token."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from bridge.cli import main
from bridge.model import Identity
from bridge.receive.auth import (
    IngestAuth,
    Principal,
    TokenConfigError,
    load_tokens_file,
    split_tokens,
    token_digest,
)
from bridge.receive.decode import decode_json
from tests.support.bridge_process import start_bridge
from tests.support.db import rows
from tests.support.otlp import get, json_span, json_traces, post

TRACE = "0af7651916cd43dd8448eb211c80319c"
CI_TOKEN = "ci-runner-secret-1"
ALICE_TOKEN = "alice-laptop-secret"


def body(span_id: int, team: str = "marketing", user: str = "mallory@example.com") -> dict:
    return json_traces(
        {
            "service.name": "t",
            "agent.user.team": team,
            "agent.user.id": user,
            "deployment.environment": "dev",
        },
        [
            json_span(
                TRACE,
                f"{span_id:016x}",
                "chat",
                {
                    "gen_ai.request.model": "gpt-5",
                    "gen_ai.usage.input_tokens": 10,
                    "gen_ai.usage.output_tokens": 5,
                },
            )
        ],
    )


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


A = sha("a")


def write_tokens(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- unit ---------------------------------------------------------------------------------------


def test_digest_is_sha256sum_of_the_token() -> None:
    assert token_digest("s3cret") == hashlib.sha256(b"s3cret").hexdigest()
    result = CliRunner().invoke(main, ["token", "hash"], input="s3cret\n")
    assert result.exit_code == 0 and result.output.strip() == sha("s3cret")
    assert CliRunner().invoke(main, ["token", "hash"], input="\n").exit_code != 0


def test_tokens_file_entries_and_binding(tmp_path: Path) -> None:
    path = write_tokens(
        tmp_path / "tokens.yaml",
        f"- {{sha256: {sha(CI_TOKEN)}, team: payments, name: ci-runner}}\n"
        f"- {{sha256: '{sha(ALICE_TOKEN).upper()}', team: web, user: alice@example.com,"
        " environment: prod}\n",
    )
    auth = IngestAuth(["plain"], load_tokens_file(path))
    ci = auth.authenticate(f"Bearer {CI_TOKEN}")
    assert ci == Principal(name="ci-runner", team="payments")
    alice = auth.authenticate(f"bearer  {ALICE_TOKEN} ")
    assert alice is not None and (alice.team, alice.user, alice.environment) == (
        "web",
        "alice@example.com",
        "prod",
    )
    plain = auth.authenticate("Bearer plain")
    assert plain is not None and not plain.bound
    for bad in (None, "", "Bearer", "Bearer wrong", f"Basic {CI_TOKEN}", f"Bearer {sha(CI_TOKEN)}"):
        assert auth.authenticate(bad) is None
    identity = Identity(user_id="mallory", team="marketing", environment="dev")
    assert ci is not None
    ci.apply(identity)
    assert (identity.user_id, identity.team, identity.environment) == ("mallory", "payments", "dev")
    alice.apply(identity)
    assert (identity.user_id, identity.team, identity.environment) == ("alice@example.com", "web", "prod")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"- {{sha256: {A}, team: payments, teem: x}}\n", "unknown key 'teem'"),
        (f"- {{sha256: {A}}}\n", "missing key 'team'"),
        ("- {sha256: plain-token, team: payments}\n", "key 'sha256' must be the 64-hex-digit sha256"),
        (f"- {{sha256: {A}, team: '  '}}\n", "key 'team' must be a non-blank string"),
        (f"- {{sha256: {A}, team: __all}}\n", "reserved"),
        (f"- {{sha256: {A}, team: a, name: one}}\n- {{sha256: {A}, team: b}}\n", "repeats"),
        ("[]\n", "non-empty list"),
        ("- [a]\n", "entry 1: expected a mapping"),
        ("- {sha256: [unclosed\n", "not valid YAML"),
    ],
)
def test_tokens_file_errors_name_the_entry_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write_tokens(tmp_path / "tokens.yaml", text)
    with pytest.raises(TokenConfigError) as error:
        load_tokens_file(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_blank_tokens_are_refused() -> None:
    assert split_tokens(["a, b", "c"], "x") == ("a", "b", "c")
    for values in ([" "], [""], ["a,,b"], ["a,"]):
        with pytest.raises(TokenConfigError, match="empty or blank"):
            split_tokens(values, "--ingest-token")
    with pytest.raises(TokenConfigError):
        IngestAuth([" "])


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--ingest-token", " "], {}, "--ingest-token: token 1 is empty or blank"),
        (["--ingest-token", "a,,b"], {}, "--ingest-token: token 2 is empty or blank"),
        ([], {"AGENT_SPEND_INGEST_TOKENS": "a,"}, "AGENT_SPEND_INGEST_TOKENS: token 2 is empty"),
        ([], {"AGENT_SPEND_INGEST_TOKENS": "  "}, "AGENT_SPEND_INGEST_TOKENS: token 1 is empty"),
        (["--metrics-token", " "], {}, "--metrics-token is empty"),
    ],
)
def test_serve_refuses_blank_tokens_at_startup(args: list[str], env: dict[str, str], message: str) -> None:
    # Refused before any database connection is attempted.
    result = CliRunner().invoke(
        main, ["serve", "--database-url", "postgresql://nobody@127.0.0.1:1/none", *args], env=env
    )
    assert result.exit_code == 1, result.output
    assert message in result.output


def test_serve_refuses_a_bad_tokens_file(tmp_path: Path) -> None:
    path = write_tokens(tmp_path / "tokens.yaml", f"- {{sha256: {A}, team: payments, usr: x}}\n")
    result = CliRunner().invoke(
        main,
        [
            "serve",
            "--database-url",
            "postgresql://nobody@127.0.0.1:1/none",
            "--ingest-tokens-file",
            str(path),
        ],
    )
    assert result.exit_code == 1 and "unknown key 'usr'" in result.output


# -- end to end ---------------------------------------------------------------------------------


def test_bound_tokens_decide_the_identity_on_both_transports(database_url: str, tmp_path: Path) -> None:
    path = write_tokens(
        tmp_path / "tokens.yaml",
        f"tokens:\n"
        f"  - {{sha256: {sha(CI_TOKEN)}, team: payments, name: ci-runner}}\n"
        f"  - {{sha256: {sha(ALICE_TOKEN)}, team: web, user: alice@example.com, environment: prod}}\n",
    )
    bridge = start_bridge(database_url, "--ingest-tokens-file", str(path), "--ingest-token", "unbound")
    try:
        auth = {"Authorization": f"Bearer {CI_TOKEN}"}
        assert post(f"{bridge.http_url}/v1/traces", body(1), headers=auth)[0] == 200
        assert (
            post(f"{bridge.http_url}/v1/traces", body(2), headers={"Authorization": "Bearer unbound"})[0]
            == 200
        )
        assert (
            post(f"{bridge.http_url}/v1/traces", body(3), headers={"Authorization": "Bearer nope"})[0] == 401
        )
        request = decode_json(json.dumps(body(4)).encode(), ExportTraceServiceRequest)
        with grpc.insecure_channel(bridge.grpc) as channel:
            stub = TraceServiceStub(channel)
            stub.Export(request, timeout=10, metadata=[("authorization", f"Bearer {ALICE_TOKEN}")])
            with pytest.raises(grpc.RpcError) as error:
                stub.Export(request, timeout=10, metadata=[("authorization", f"Bearer {sha(ALICE_TOKEN)}")])
            assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
            # The same connection, a bound token, then the unbound one: no identity leaks across.
            stub.Export(
                decode_json(json.dumps(body(5)).encode(), ExportTraceServiceRequest),
                timeout=10,
                metadata=[("authorization", "Bearer unbound")],
            )
        got = rows(
            database_url,
            "SELECT right(dedup_key, 1), team, user_id, environment FROM agent_spend_logs ORDER BY dedup_key",
        )
        assert got == [
            ("1", "payments", "mallory@example.com", "dev"),
            ("2", "marketing", "mallory@example.com", "dev"),
            ("4", "web", "alice@example.com", "prod"),
            ("5", "marketing", "mallory@example.com", "dev"),
        ]
        assert not any(CI_TOKEN in line or ALICE_TOKEN in line for line in bridge.stderr_lines)
    finally:
        assert bridge.stop() == 0


def test_metrics_token(database_url: str) -> None:
    bridge = start_bridge(database_url, "--metrics-token", "scrape-me")
    try:
        assert get(f"{bridge.http_url}/metrics")[0] == 401
        assert get(f"{bridge.http_url}/healthz")[0] == 200, "probes stay open"
        request = urllib.request.Request(
            f"{bridge.http_url}/metrics", headers={"Authorization": "Bearer scrape-me"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and b"agent_spend_requests_total" in response.read()
        wrong = urllib.request.Request(f"{bridge.http_url}/metrics", headers={"Authorization": "Bearer nope"})
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(wrong, timeout=10)
        assert error.value.code == 401
        # The metrics token is not an ingest token, and ingest stays open without ingest tokens.
        assert post(f"{bridge.http_url}/v1/traces", body(1))[0] == 200
    finally:
        assert bridge.stop() == 0
