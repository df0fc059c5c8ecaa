"""Bearer-token authentication for OTLP exports and /metrics, and identity binding.

Exporters send a token with `OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <token>"`.
The bridge keeps only sha256 digests of its tokens and compares digests in constant time
(hmac.compare_digest) against every configured one, so timing reveals neither which token
matched nor how many exist; several tokens may be valid at once, for rotation. Tokens are
never logged.

A token may be *bound* (the tokens file, `--ingest-tokens-file`): it maps to a team and
optionally a user and an environment, and every call exported with it is stored under that
identity whatever the payload says (`Principal.apply`, called by bridge/ingest.py before
pricing), so a token holder cannot store calls as another team. Unbound tokens
(`--ingest-token`, `AGENT_SPEND_INGEST_TOKENS`) only authenticate.

Health and readiness stay open for probes; /metrics needs its own token when
`--metrics-token` is set (`MetricsAuth`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import yaml

from bridge import config
from bridge.ingest import bind_identity
from bridge.model import Identity

# The dashboards' "All" sentinel (config.ALL_SENTINEL); a binding may not use it.
RESERVED_VALUES = frozenset({config.ALL_SENTINEL})
TOKEN_FILE_KEYS = ("sha256", "team", "user", "environment", "name")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class TokenConfigError(ValueError):
    """A token setting the bridge refuses to start with; the message names the bad entry or key."""


def token_digest(token: str) -> str:
    """The sha256 hex digest the bridge stores for `token` (same as `printf %s TOKEN | sha256sum`)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an authenticated export comes from: a token's name and the identity it is bound to."""

    name: str | None = None
    team: str | None = None
    user: str | None = None
    environment: str | None = None

    @property
    def bound(self) -> bool:
        return self.team is not None

    @property
    def sender(self) -> str:
        """The key that keeps this token's trace context apart from every other sender's."""
        return f"{self.name or ''}/{self.team or ''}/{self.user or ''}"

    def apply(self, identity: Identity) -> None:
        """Overwrite the payload's identity with the bound one (team always; user/environment when set)."""
        if self.team is not None:
            identity.team = self.team
        if self.user is not None:
            identity.user_id = self.user
        if self.environment is not None:
            identity.environment = self.environment


OPEN = Principal()  # no tokens configured: every export is accepted, nothing is bound


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """One accepted token: its sha256 digest (raw bytes) and the principal it stands for."""

    digest: bytes
    principal: Principal


def unbound_tokens(tokens: Iterable[str], origin: str = "--ingest-token") -> tuple[TokenEntry, ...]:
    """Entries for plain tokens; a blank one is an error (it would otherwise open the bridge)."""
    entries = []
    for index, token in enumerate(tokens, 1):
        if not token.strip():
            raise TokenConfigError(
                f"{origin}: token {index} is empty or blank; remove it, or set a real token"
            )
        if token != token.strip():
            raise TokenConfigError(f"{origin}: token {index} has leading or trailing whitespace")
        entries.append(TokenEntry(bytes.fromhex(token_digest(token)), Principal(name=f"token-{index}")))
    return tuple(entries)


def split_tokens(values: Iterable[str], origin: str) -> tuple[str, ...]:
    """Comma-separated token lists (`--ingest-token a,b`, AGENT_SPEND_INGEST_TOKENS) -> tokens.

    Spaces around a token are dropped; an empty or blank entry is a TokenConfigError, because
    silently skipping it could leave the bridge open when the operator meant to close it.
    """
    tokens: list[str] = []
    for value in values:
        for piece in value.split(","):
            if not piece.strip():
                raise TokenConfigError(
                    f"{origin}: token {len(tokens) + 1} is empty or blank; remove it, or set a real token"
                )
            tokens.append(piece.strip())
    return tuple(tokens)


def _text(entry: Mapping[str, Any], key: str, where: str, required: bool = False) -> str | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise TokenConfigError(f"{where}: missing key {key!r}")
        return None
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise TokenConfigError(f"{where}: key {key!r} must be a non-blank string without surrounding spaces")
    if value in RESERVED_VALUES:
        raise TokenConfigError(f"{where}: key {key!r}: {value!r} is reserved (the dashboards' All)")
    return value


def load_tokens_file(path: Path) -> tuple[TokenEntry, ...]:
    """Read a YAML tokens file: a list (or `tokens:` list) of {sha256, team, user?, environment?, name?}."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise TokenConfigError(f"tokens file {path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise TokenConfigError(f"tokens file {path}: not valid YAML: {exc}") from None
    if isinstance(document, dict) and set(document) == {"tokens"}:
        document = document["tokens"]
    if not isinstance(document, list) or not document:
        raise TokenConfigError(f"tokens file {path}: expected a non-empty list of token entries")
    entries: list[TokenEntry] = []
    seen: dict[bytes, str] = {}
    for index, entry in enumerate(document, 1):
        where = f"tokens file {path}: entry {index}"
        if not isinstance(entry, dict):
            raise TokenConfigError(f"{where}: expected a mapping with keys {', '.join(TOKEN_FILE_KEYS)}")
        if isinstance(entry.get("name"), str):
            where += f" ({entry['name']})"
        unknown = sorted(str(k) for k in entry if k not in TOKEN_FILE_KEYS)
        if unknown:
            raise TokenConfigError(
                f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(TOKEN_FILE_KEYS)})"
            )
        digest = entry.get("sha256")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest.strip().lower()):
            raise TokenConfigError(
                f"{where}: key 'sha256' must be the 64-hex-digit sha256 of the token "
                "(`agent-spend token hash`, or `printf %s TOKEN | sha256sum`), not the token itself"
            )
        raw = bytes.fromhex(digest.strip().lower())
        name = _text(entry, "name", where) or f"entry-{index}"
        if raw in seen:
            raise TokenConfigError(f"{where}: key 'sha256' repeats the token of {seen[raw]}")
        seen[raw] = name
        principal = Principal(
            name=name,
            team=_text(entry, "team", where, required=True),
            user=_text(entry, "user", where),
            environment=_text(entry, "environment", where),
        )
        entries.append(TokenEntry(raw, principal))
    return tuple(entries)


def _presented(authorization: str | None) -> bytes | None:
    """The sha256 digest of a bearer credential, or None when the header is not `Bearer <token>`."""
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        return None
    return hashlib.sha256(credential.encode()).digest()


def _match(authorization: str | None, entries: tuple[TokenEntry, ...]) -> Principal | None:
    presented = _presented(authorization)
    if presented is None:
        return None
    found: Principal | None = None
    # Compare against every entry so timing does not reveal which one (or how many) exist.
    for entry in entries:
        if hmac.compare_digest(presented, entry.digest) and found is None:
            found = entry.principal
    return found


class MetricsAuth:
    """The optional bearer token of GET /metrics (`--metrics-token`), compared as a sha256 digest."""

    def __init__(self, token: str | None = None) -> None:
        if token is not None and (not token.strip() or token != token.strip()):
            raise TokenConfigError("--metrics-token is empty, blank or has surrounding whitespace")
        self.entries = (
            (TokenEntry(bytes.fromhex(token_digest(token)), Principal(name="metrics")),) if token else ()
        )

    def allows(self, authorization: str | None) -> bool:
        return not self.entries or _match(authorization, self.entries) is not None


class IngestAuth:
    """The accepted ingest tokens (unbound and bound), and the check of an Authorization header."""

    def __init__(
        self,
        tokens: Iterable[str] = (),
        entries: Iterable[TokenEntry] = (),
        metrics_token: str | None = None,
    ) -> None:
        self.entries = unbound_tokens(tokens) + tuple(entries)
        self.metrics = MetricsAuth(metrics_token)

    @property
    def enabled(self) -> bool:
        return bool(self.entries)

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal of a valid header (OPEN when no tokens are configured), else None."""
        if not self.enabled:
            return OPEN
        return _match(authorization, self.entries)

    def allows(self, authorization: str | None) -> bool:
        return self.authenticate(authorization) is not None

    def metrics_allows(self, authorization: str | None) -> bool:
        """Whether GET /metrics may be answered (always, unless `--metrics-token` is set)."""
        return self.metrics.allows(authorization)

    @contextmanager
    def bound(self, authorization: str | None) -> Iterator[Principal | None]:
        """Authenticate, and bind the principal's identity to the exports ingested inside the block."""
        principal = self.authenticate(authorization)
        with bind_identity(principal if principal is not None and principal.bound else None):
            yield principal


MISSING = "missing or invalid bearer token: set OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer <token>'"


if TYPE_CHECKING:  # grpc-stubs makes the interceptor generic; grpc itself does not subscript
    _ServerInterceptor = grpc.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.ServerInterceptor


class GrpcAuthInterceptor(_ServerInterceptor):
    """Refuses every gRPC export without a valid bearer token with UNAUTHENTICATED.

    For a bound token the handler runs inside `bind_identity`, so the calls it ingests get
    the token's identity (the handler runs on a worker thread, after this interceptor).
    """

    def __init__(self, auth: IngestAuth) -> None:
        self.auth = auth

        def deny(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, MISSING)

        self._deny = grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        metadata = dict(handler_call_details.invocation_metadata or ())
        authorization = metadata.get("authorization")
        if isinstance(authorization, bytes):  # only "-bin" keys carry bytes; be lenient anyway
            authorization = authorization.decode("latin-1")
        principal = self.auth.authenticate(authorization)
        if principal is None:
            return self._deny
        handler = continuation(handler_call_details)
        if not principal.bound or handler is None or handler.unary_unary is None:
            return handler
        behaviour = handler.unary_unary

        def bound(request: Any, context: grpc.ServicerContext) -> Any:
            with bind_identity(principal):
                return behaviour(request, context)

        return grpc.unary_unary_rpc_method_handler(
            bound,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
