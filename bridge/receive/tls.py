"""Optional TLS (and mutual TLS) on both OTLP listeners.

Configured like the OpenTelemetry Collector's OTLP receiver (`tls: cert_file, key_file,
client_ca_file`): `serve --tls-cert FILE --tls-key FILE [--tls-client-ca FILE]`. With a
client CA every client must present a certificate signed by it (mutual TLS). Both
listeners use the same files; TLS 1.2 is the minimum.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc


class TLSConfigError(ValueError):
    """The TLS files cannot be used (unreadable, not PEM, key does not match the certificate)."""


@dataclass(frozen=True)
class TLSSettings:
    """PEM files: the server certificate (chain), its private key, and optionally the client CA."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None


def server_ssl_context(s: TLSSettings) -> ssl.SSLContext:
    """A server-side context (TLS >= 1.2); CERT_REQUIRED against the client CA when one is set."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(s.cert_file, s.key_file)
    except FileNotFoundError as exc:
        raise TLSConfigError(f"TLS: cannot read {exc.filename}: {exc.strerror}") from None
    except PermissionError as exc:
        raise TLSConfigError(f"TLS: cannot read {exc.filename}: {exc.strerror}") from None
    except ssl.SSLError as exc:
        raise TLSConfigError(
            f"TLS: {s.cert_file} and {s.key_file} are not a PEM certificate "
            f"and its matching key ({exc.reason})"
        ) from None
    if s.client_ca_file is not None:
        try:
            context.load_verify_locations(cafile=s.client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise TLSConfigError(f"TLS: cannot load client CA {s.client_ca_file}: {exc}") from None
        context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["http/1.1"])
    return context


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TLSConfigError(f"TLS: cannot read {path}: {exc.strerror or exc}") from None


def grpc_server_credentials(s: TLSSettings) -> grpc.ServerCredentials:
    """gRPC server credentials from the same files; client certificates required when a CA is set."""
    server_ssl_context(s)  # validate first: grpc reports bad files only when the port is bound
    return grpc.ssl_server_credentials(
        [(_read(s.key_file), _read(s.cert_file))],
        root_certificates=_read(s.client_ca_file) if s.client_ca_file is not None else None,
        require_client_auth=s.client_ca_file is not None,
    )
