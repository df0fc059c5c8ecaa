"""Optional TLS and mutual TLS on both listeners, through the real OpenTelemetry SDK exporters.

A throwaway CA, server certificate (127.0.0.1) and client certificate are made with the
`openssl` command line tool; the tests are skipped where it is missing.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from bridge.cli import main
from bridge.receive.tls import TLSConfigError, TLSSettings, grpc_server_credentials, server_ssl_context
from tests.support.bridge_process import BridgeProcess, start_bridge
from tests.support.db import rows
from tests.support.otlp import chat_span, sdk_tracer

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

ATTRS = {"gen_ai.request.model": "gpt-5", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}


@dataclass(frozen=True)
class PKI:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_key: Path  # a key that does not match server_cert


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _signed(directory: Path, name: str, ca: Path, ca_key: Path, subject: str, extensions: str) -> None:
    key, csr, cert, ext = (directory / f"{name}.{s}" for s in ("key", "csr", "pem", "ext"))
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-subj", subject, "-out", str(csr))
    # Python 3.13's default client context is X509-strict: leaf certificates need key identifiers.
    ext.write_text(extensions + "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-days", "2", "-sha256", "-extfile", str(ext), "-out", str(cert),
    )  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    d = tmp_path_factory.mktemp("pki")
    ca, ca_key = d / "ca.pem", d / "ca.key"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=agent-spend test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    _signed(
        d, "server", ca, ca_key, "/CN=127.0.0.1",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )  # fmt: skip
    _signed(d, "client", ca, ca_key, "/CN=exporter", "extendedKeyUsage=clientAuth\n")
    _openssl("genrsa", "-out", str(d / "other.key"), "2048")
    return PKI(ca, d / "server.pem", d / "server.key", d / "client.pem", d / "client.key", d / "other.key")


def _count(database_url: str) -> int:
    return int(rows(database_url, "SELECT count(*) FROM agent_spend_logs")[0][0])


@pytest.fixture
def tls_bridge(database_url: str, pki: PKI) -> Iterator[BridgeProcess]:
    bridge = start_bridge(database_url, "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key))
    try:
        yield bridge
    finally:
        assert bridge.stop() == 0, "".join(bridge.stderr_lines)


@pytest.fixture
def mtls_bridge(database_url: str, pki: PKI) -> Iterator[BridgeProcess]:
    bridge = start_bridge(
        database_url,
        "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key), "--tls-client-ca", str(pki.ca),
    )  # fmt: skip
    try:
        yield bridge
    finally:
        assert bridge.stop() == 0, "".join(bridge.stderr_lines)


def _send_grpc(bridge: BridgeProcess, credentials: grpc.ChannelCredentials) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter(endpoint=f"https://{bridge.grpc}", credentials=credentials, timeout=10)
    with sdk_tracer(exporter, {"service.name": "tls-grpc"}) as tracer:
        chat_span(tracer, "chat", ATTRS)


@pytest.fixture(autouse=True)
def _no_ca_bundle_override(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`, which is
    # where the HTTP exporter puts certificate_file.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def _send_http(bridge: BridgeProcess, pki: PKI, client_cert: bool = False) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    extra = {"client_certificate_file": str(pki.client_cert), "client_key_file": str(pki.client_key)}
    exporter = OTLPSpanExporter(
        endpoint=f"https://{bridge.http}/v1/traces",
        certificate_file=str(pki.ca),
        timeout=10,
        **(extra if client_cert else {}),  # type: ignore[arg-type]
    )
    with sdk_tracer(exporter, {"service.name": "tls-http"}) as tracer:
        chat_span(tracer, "chat", ATTRS)


def _grpc_refused(target: str, credentials: grpc.ChannelCredentials | None) -> None:
    request = ExportTraceServiceRequest()
    channel = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    with channel, pytest.raises(grpc.RpcError) as error:
        TraceServiceStub(channel).Export(request, timeout=5)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE


def _https_get(bridge: BridgeProcess, context: ssl.SSLContext) -> int:
    with urllib.request.urlopen(f"https://{bridge.http}/healthz", timeout=5, context=context) as response:
        return int(response.status)


def test_settings_are_checked(pki: PKI, tmp_path: Path) -> None:
    context = server_ssl_context(TLSSettings(pki.server_cert, pki.server_key))
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2 and context.verify_mode == ssl.CERT_NONE
    mutual = server_ssl_context(TLSSettings(pki.server_cert, pki.server_key, pki.ca))
    assert mutual.verify_mode == ssl.CERT_REQUIRED
    assert grpc_server_credentials(TLSSettings(pki.server_cert, pki.server_key, pki.ca)) is not None
    with pytest.raises(TLSConfigError, match="matching key"):
        server_ssl_context(TLSSettings(pki.server_cert, pki.other_key))
    with pytest.raises(TLSConfigError, match="cannot read"):
        server_ssl_context(TLSSettings(tmp_path / "missing.pem", pki.server_key))
    with pytest.raises(TLSConfigError, match="client CA"):
        server_ssl_context(TLSSettings(pki.server_cert, pki.server_key, pki.server_key))
    result = CliRunner().invoke(
        main,
        ["serve", "--database-url", "postgresql://nobody@127.0.0.1:1/x",
         "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.other_key)],
    )  # fmt: skip
    assert result.exit_code == 1 and "matching key" in result.output
    alone = CliRunner().invoke(
        main,
        ["serve", "--database-url", "postgresql://nobody@127.0.0.1:1/x", "--tls-cert", str(pki.server_cert)],
    )
    assert alone.exit_code == 2 and "--tls-key" in alone.output


def test_tls_on_both_listeners(tls_bridge: BridgeProcess, database_url: str, pki: PKI) -> None:
    _send_grpc(tls_bridge, grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes()))
    assert _count(database_url) == 1
    _send_http(tls_bridge, pki)
    assert _count(database_url) == 2
    # Plaintext clients are refused on both ports.
    _grpc_refused(tls_bridge.grpc, None)
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"http://{tls_bridge.http}/healthz", timeout=5)
    # A client that does not trust the bridge's CA refuses it.
    with pytest.raises(urllib.error.URLError):
        _https_get(tls_bridge, ssl.create_default_context())
    assert _https_get(tls_bridge, ssl.create_default_context(cafile=pki.ca)) == 200
    assert _count(database_url) == 2


def test_mutual_tls_requires_a_client_certificate(
    mtls_bridge: BridgeProcess, database_url: str, pki: PKI
) -> None:
    ca = pki.ca.read_bytes()
    _grpc_refused(mtls_bridge.grpc, grpc.ssl_channel_credentials(root_certificates=ca))
    no_cert = ssl.create_default_context(cafile=pki.ca)
    with pytest.raises((urllib.error.URLError, ConnectionError, ssl.SSLError)):
        _https_get(mtls_bridge, no_cert)
    with_cert = ssl.create_default_context(cafile=pki.ca)
    with_cert.load_cert_chain(pki.client_cert, pki.client_key)
    assert _https_get(mtls_bridge, with_cert) == 200
    assert _count(database_url) == 0
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca,
        private_key=pki.client_key.read_bytes(),
        certificate_chain=pki.client_cert.read_bytes(),
    )
    _send_grpc(mtls_bridge, credentials)
    assert _count(database_url) == 1
    _send_http(mtls_bridge, pki, client_cert=True)
    assert _count(database_url) == 2
