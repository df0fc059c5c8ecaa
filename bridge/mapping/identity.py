"""Who made a call and where: the identity fields every source shares.

One precedence list per field, so a user who mixes harnesses lands on one row key.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from bridge.mapping.attributes import Attributes, InvalidNumber, boolean, number, text, texts
from bridge.model import CostEstimation, Identity, Rejected, ReportedCost

# Explicit identities first, then the account ids some harnesses add when signed in.
USER_KEYS = ("agent.user.id", "user.email", "user.id", "enduser.id", "user.account_uuid", "user.account_id")
SESSION_KEYS = ("agent.session.id", "session.id", "conversation.id", "gen_ai.conversation.id")
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")

# service.name values of known harnesses → the harness name we report.
HARNESS_BY_SERVICE = {
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


def harness_from_service(service_name: str | None) -> str | None:
    """Known harness names are normalised; SDK placeholders like `unknown_service:node` say nothing."""
    if not service_name:
        return None
    key = service_name.strip().lower()
    if key.startswith("unknown_service"):
        return None
    if key in HARNESS_BY_SERVICE:
        return HARNESS_BY_SERVICE[key]
    for prefix, harness in HARNESS_BY_SERVICE.items():
        # `codex_vscode` and `pi-usage-reporter` are those harnesses; `pipeline-api` is not pi.
        if key.startswith(prefix) and key[len(prefix)] in "-_.:/ ":
            return harness
    return key


_CI_KEYS = ("agent.workspace.is_ci", "cicd.pipeline.run.id")
_IdentityTable = tuple[tuple[str, ...], ...]
_TABLES: dict[tuple[tuple[str, ...], tuple[str, ...]], _IdentityTable] = {}


def _identity_table(user_fallback: tuple[str, ...], session_fallback: tuple[str, ...]) -> _IdentityTable:
    """The precedence keys of every text field `identity` reads, in Identity's order
    (the harness's `service.name` fallback before the harness name itself)."""
    table = _TABLES.get((user_fallback, session_fallback))
    if table is None:
        table = _TABLES[(user_fallback, session_fallback)] = (
            (*USER_KEYS, *user_fallback),
            ("agent.user.team",),
            ("agent.machine.id", "host.id", "host.name"),
            (*SESSION_KEYS, *session_fallback),
            ENVIRONMENT_KEYS,
            ("agent.workspace.cwd",),
            ("agent.workspace.repo", "vcs.repository.url.full", "vcs.repository.name"),
            ("agent.workspace.branch", "vcs.ref.head.name"),
            ("agent.harness.name",),
            ("service.name",),
            ("agent.harness.version", "service.version"),
        )
    return table


def identity(
    attrs: Attributes,
    *,
    default_harness: str | None = None,
    user_fallback: tuple[str, ...] = (),
    session_fallback: tuple[str, ...] = (),
) -> Identity:
    """Fallback keys are source-specific spellings, consulted only after the shared precedence."""
    user, team, machine, session, environment, cwd, repo, branch, harness, service, version = texts(
        attrs, _identity_table(user_fallback, session_fallback)
    )
    return Identity(
        user_id=user,
        team=team,
        machine_id=machine,
        session_id=session,
        environment=environment,
        workspace_cwd=cwd,
        workspace_repo=repo,
        workspace_branch=branch,
        workspace_is_ci=bool(boolean(attrs, *_CI_KEYS)),
        harness_name=harness or harness_from_service(service) or default_harness,
        harness_version=version,
    )


# Where an ancestor span (Copilot's `invoke_agent`, an agent framework's run span) names who
# and where: the shared precedence first, then spellings seen on parents only.
ANCESTOR_USER_KEYS = (*USER_KEYS, "user.name")
ANCESTOR_SESSION_KEYS = (*SESSION_KEYS, "copilot_chat.session_id", "copilot_chat.chat_session_id")
ANCESTOR_REPO_KEYS = (
    "agent.workspace.repo",
    "vcs.repository.url.full",
    "vcs.repository.name",
    "github.copilot.git.repository",
    "copilot_chat.repo.remote_url",  # Copilot Chat's legacy spelling of the same remote URL
)
ANCESTOR_BRANCH_KEYS = (
    "agent.workspace.branch",
    "vcs.ref.head.name",
    "github.copilot.git.branch",
    "copilot_chat.repo.head_branch_name",
)


_ANCESTOR_TABLE = (
    ANCESTOR_USER_KEYS,
    ("agent.user.team",),
    ("agent.machine.id",),
    ANCESTOR_SESSION_KEYS,
    ENVIRONMENT_KEYS,
    ("agent.workspace.cwd",),
    ANCESTOR_REPO_KEYS,
    ANCESTOR_BRANCH_KEYS,
)


def ancestor_identity(attrs: Attributes) -> Identity:
    """What a span offers its descendants: the inheritable fields of its own attributes.

    Only the span's attributes, not its resource: a descendant from the same process already
    read the resource itself, and a resource-wide value must not outrank a parent's own.
    """
    user, team, machine, session, environment, cwd, repo, branch = texts(attrs, _ANCESTOR_TABLE)
    return Identity(
        user_id=user,
        team=team,
        machine_id=machine,
        session_id=session,
        environment=environment,
        workspace_cwd=cwd,
        workspace_repo=repo,
        workspace_branch=branch,
    )


# Harnesses whose resource `session.id` names a window or process, not a conversation: their
# calls take the session from the record itself, or inherit it from an ancestor span.
WINDOW_SESSION_HARNESSES = frozenset({"copilot"})


def conversation_session(ident: Identity, record_attrs: Attributes) -> None:
    """For WINDOW_SESSION_HARNESSES, the session is the record's own conversation id (or none)."""
    if ident.harness_name in WINDOW_SESSION_HARNESSES:
        ident.session_id = text(record_attrs, *ANCESTOR_SESSION_KEYS)


def usd(attrs: Attributes, *keys: str) -> Decimal | None:
    """A reported dollar amount, exact: the string form of the double, never its binary value."""
    try:
        value = number(attrs, *keys)
    except InvalidNumber as exc:
        raise Rejected(str(exc)) from None
    if value is None:
        return None
    if value < 0:
        raise Rejected(f"attribute {next(k for k in keys if k in attrs)!r}: cost cannot be negative")
    try:
        return Decimal(repr(value))
    except InvalidOperation:  # pragma: no cover - number() already checked finiteness
        raise Rejected(f"attribute {keys[0]!r}: not a dollar amount") from None


def micro_usd(attrs: Attributes, key: str) -> Decimal | None:
    """A reported amount in integer micro-dollars (int or digit string), exact: micros / 10**6."""
    raw = attrs.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise Rejected(f"attribute {key!r}={raw!r}: expected whole micro-dollars, got a boolean")
    try:
        micros = Decimal(str(raw).strip()) if not isinstance(raw, int) else Decimal(raw)
    except InvalidOperation:
        raise Rejected(f"attribute {key!r}={raw!r}: not a number") from None
    if not micros.is_finite() or micros != micros.to_integral_value():
        raise Rejected(f"attribute {key!r}={raw!r}: expected whole micro-dollars")
    if micros < 0:
        raise Rejected(f"attribute {key!r}: cost cannot be negative")
    return micros.to_integral_value() / MICROS_PER_USD


MICROS_PER_USD = Decimal(10**6)
ESTIMATIONS: dict[str, CostEstimation] = {e: e for e in ("metered", "subscription", "unreported")}


def reported_cost(attrs: Attributes, *total_keys: str, micros_key: str | None = None) -> ReportedCost:
    """The agent.* cost split, plus a total under the source's own spelling (e.g. Claude's `cost_usd`).

    `micros_key` names an exact integer micro-dollar total (Claude's `cost_usd_micros`), preferred
    over the source's float spelling but not over an explicit `agent.cost.total.usd`.
    """
    value = text(attrs, "agent.cost.estimation")
    estimation = ESTIMATIONS.get(value) if value is not None else None
    if value is not None and estimation is None:
        raise Rejected(
            f"attribute 'agent.cost.estimation'={value!r}: expected metered, subscription or unreported"
        )
    return ReportedCost(
        input=_usd_of(attrs, "agent.cost.input.usd"),
        output=_usd_of(attrs, "agent.cost.output.usd"),
        cache_read=_usd_of(attrs, "agent.cost.cache_read.usd"),
        cache_write=_usd_of(attrs, "agent.cost.cache_write.usd"),
        total=_total(attrs, total_keys, micros_key),
        estimation=estimation,
    )


def _usd_of(attrs: Attributes, key: str) -> Decimal | None:
    return usd(attrs, key) if key in attrs else None  # most calls report no split


def _total(attrs: Attributes, total_keys: tuple[str, ...], micros_key: str | None) -> Decimal | None:
    explicit = usd(attrs, "agent.cost.total.usd", "gen_ai.usage.cost")
    if explicit is not None:
        return explicit
    micros = micro_usd(attrs, micros_key) if micros_key else None
    return micros if micros is not None else usd(attrs, *total_keys)
