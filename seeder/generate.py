"""A deterministic synthetic organisation: who runs which agent sessions, and when.

Everything is drawn from one `random.Random(seed)` and the only clock is `now`, so a given
(seed, now) pair always yields byte-identical telemetry: demos, screenshots and tests can
rely on the same numbers. Volume is budgeted up front (about 40 model calls per developer
per day) rather than emerging from rates, so the row count stays predictable whatever the
random draws; the draws only decide how that budget is spread over people and hours.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bridge import config
from seeder.catalog import (
    CI_BRANCHES,
    CI_HARNESSES,
    CI_TEAM,
    CI_USER,
    DEVELOPER_NAMES,
    EMAIL_DOMAIN,
    HARNESS_ROTATION,
    HARNESSES,
    MODELS,
    OPUS,
    REPOS,
    SECONDARY_HARNESSES,
    TEAMS,
    Team,
)
from seeder.session import NS, SessionPlan, simulate
from seeder.traces import AgentResource, SessionInfo, SyntheticTrace

__all__ = ["SyntheticTrace", "generate"]

CALLS_PER_USER_DAY = 40
BURST_SHARE = 0.09  # of all calls, squeezed into the last two hours so burn-rate panels move
CI_SHARE = 0.05
BURST_WINDOW_NS = 2 * 3600 * NS
MINUTE_NS = 60 * NS
HOUR_NS = 3600 * NS
DAY_NS = 24 * HOUR_NS
MIN_SESSION, MAX_SESSION = 5, 60

# Local-time activity: a working day from 9 to 19 with a lunch dip and a thin evening tail.
WORK_HOURS = (
    0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.04, 0.12, 0.35, 1.0, 1.0, 1.0,
    0.6, 1.0, 1.0, 1.0, 1.0, 0.9, 0.7, 0.3, 0.15, 0.12, 0.06, 0.03,
)  # fmt: skip
# PR-triggered CI follows the working day loosely; nightly jobs are added separately.
CI_HOURS = tuple(0.3 + w for w in WORK_HOURS)
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 0.9, 0.12, 0.08)  # Monday first


@dataclass(frozen=True)
class Machine:
    machine_id: str
    home: str
    environment: str


@dataclass(frozen=True)
class Developer:
    email: str
    team: Team
    intensity: float
    primary: str
    secondary: str
    machines: tuple[Machine, ...]
    max_plan: bool  # Claude Max subscriber: claude-code calls are subscription, not metered
    # harness -> (index of the version in use at the window start, when they upgrade)
    upgrades: dict[str, tuple[int, int]] = field(default_factory=dict)


def _utc_now_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _to_ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1_000


def _machine_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _upgrades(rng: random.Random, harnesses: set[str], window: tuple[int, int]) -> dict[str, tuple[int, int]]:
    plan: dict[str, tuple[int, int]] = {}
    for name in sorted(harnesses):
        versions = HARNESSES[name].versions
        plan[name] = (rng.randrange(len(versions) - 1), rng.randint(*window))
    return plan


def _developers(rng: random.Random, users: int, window: tuple[int, int]) -> list[Developer]:
    # Geometric ladder from 0.5 to 2.5: the heaviest developer runs 5x the lightest.
    intensities = [0.5 * 5 ** (i / (users - 1)) for i in range(users)] if users > 1 else [1.0]
    rng.shuffle(intensities)
    developers: list[Developer] = []
    claude_users = 0
    for i in range(users):
        first, last = DEVELOPER_NAMES[i % len(DEVELOPER_NAMES)]
        suffix = str(i // len(DEVELOPER_NAMES) + 1) if i >= len(DEVELOPER_NAMES) else ""
        primary = HARNESS_ROTATION[i % len(HARNESS_ROTATION)]
        secondary = rng.choice([h for h in SECONDARY_HARNESSES if h != primary])
        machines = [Machine(_machine_id(rng), f"/Users/{first}", "production")]
        if rng.random() < 0.4:  # a cloud devbox next to the laptop
            machines.append(Machine(_machine_id(rng), f"/home/{first}", "production"))
        developers.append(
            Developer(
                email=f"{first}.{last}{suffix}@{EMAIL_DOMAIN}",
                team=TEAMS[i % len(TEAMS)],
                intensity=intensities[i],
                primary=primary,
                secondary=secondary,
                machines=tuple(machines),
                max_plan=primary == "claude-code" and claude_users % 2 == 1,
                upgrades=_upgrades(rng, {primary, secondary}, window),
            )
        )
        claude_users += primary == "claude-code"
    return developers


def _ci_bot(rng: random.Random, window: tuple[int, int]) -> Developer:
    runners = [Machine(_machine_id(rng), "/home/runner", "production") for _ in range(3)]
    runners.append(Machine(_machine_id(rng), "/home/runner", "staging"))
    return Developer(
        email=CI_USER,
        team=next(t for t in TEAMS if t.name == CI_TEAM),
        intensity=1.0,
        primary="claude-code",
        secondary="codex",
        machines=tuple(runners),
        max_plan=False,
        upgrades=_upgrades(rng, {name for name, _ in CI_HARNESSES}, window),
    )


def _session_length(rng: random.Random, lo: int = MIN_SESSION, hi: int = MAX_SESSION) -> int:
    return max(lo, min(hi, round(rng.lognormvariate(2.9, 0.65))))  # median ~18 calls


def _budgets(total: int, weights: list[float]) -> list[int]:
    scale = sum(weights)
    return [round(total * w / scale) for w in weights]


def _start_in_hours(
    rng: random.Random, offset_min: int, hours: tuple[float, ...], window: tuple[int, int]
) -> int:
    """A start time drawn from local working hours and weekdays, inside the window."""
    lo, hi = window
    offset_ns = offset_min * MINUTE_NS
    days = list(range((lo + offset_ns) // DAY_NS, (hi + offset_ns) // DAY_NS + 1))
    day_weights = [WEEKDAY_WEIGHTS[(day + 3) % 7] for day in days]  # 1970-01-01 was a Thursday
    for _ in range(200):
        day = rng.choices(days, day_weights)[0]
        hour = rng.choices(range(24), hours)[0]
        start = day * DAY_NS + hour * HOUR_NS + rng.randrange(HOUR_NS) - offset_ns
        if lo <= start <= hi:
            return start
    return rng.randint(lo, hi)


def _plan(
    rng: random.Random,
    dev: Developer,
    harness_name: str,
    calls: int,
    start_ns: int,
    is_ci: bool,
    force_long: bool = False,
) -> SessionPlan:
    harness = HARNESSES[harness_name]
    weights = [w * (2.5 if dev.max_plan and m == OPUS else 1.0) for m, w in harness.models]
    model = MODELS[rng.choices([m for m, _ in harness.models], weights)[0]]
    own = [r for r in REPOS if r.team == dev.team.name]
    repo = rng.choice(REPOS if is_ci or not own or rng.random() < 0.3 else own)
    machine = rng.choice(dev.machines)
    if is_ci:
        branch, cwd = rng.choice(CI_BRANCHES), f"/home/runner/work/{repo.name}/{repo.name}"
    else:
        branch, cwd = rng.choice(repo.branches), f"{machine.home}/src/{repo.name}"
    first_version, upgrade_ns = dev.upgrades[harness_name]
    version = harness.versions[first_version + (start_ns >= upgrade_ns)]
    subscription = dev.max_plan and harness_name == "claude-code"
    session = SessionInfo(
        session_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        cwd=cwd,
        repo=repo.slug,
        branch=branch,
        is_ci=is_ci,
        cost_estimation="subscription" if subscription else "metered",
    )
    resource = AgentResource(
        service_name=harness_name,
        service_version=version,
        environment="staging" if harness_name == "custom-sdk" else machine.environment,
        user_id=dev.email,
        team=dev.team.name,
        machine_id=machine.machine_id,
        harness_name=harness_name,
        harness_version=version,
    )
    return SessionPlan(
        resource=resource,
        session=session,
        harness=harness,
        model=model,
        calls=calls,
        prompts=1 if is_ci else 1 + rng.randrange(max(1, min(5, calls // 10))),
        long_context=model.name == "gemini-2.5-pro" and (force_long or rng.random() < 0.12),
    )


def _take(rng: random.Random, remaining: int, lo: int = MIN_SESSION, hi: int = MAX_SESSION) -> int:
    """Next session length, absorbing a remainder too small to be a session of its own."""
    n = _session_length(rng, lo, hi)
    return min(remaining, hi) if remaining - n < MIN_SESSION else n


def generate(
    days: int = config.SEED_DAYS,
    users: int = config.SEED_USERS,
    seed: int = config.SEED_RANDOM_SEED,
    now: datetime | None = None,
) -> list[SyntheticTrace]:
    """Traces of `days` days up to `now`, sorted by start so requests go out in time order, as live.

    Same `seed` and `now`, same output: `now` defaults to the current UTC minute, the only
    read of the wall clock.
    """
    if days < 1 or users < 1:
        raise ValueError("days and users must be at least 1")
    rng = random.Random(seed)
    now_ns = _to_ns(now if now is not None else _utc_now_minute())
    window = (now_ns - days * DAY_NS, now_ns - 10 * MINUTE_NS)
    developers = _developers(rng, users, window)
    bot = _ci_bot(rng, window)

    total = days * users * CALLS_PER_USER_DAY
    burst_total, ci_total = round(total * BURST_SHARE), round(total * CI_SHARE)
    traces: list[SyntheticTrace] = []

    budgets = _budgets(total - burst_total - ci_total, [d.intensity for d in developers])
    long_seen = False  # the long-context price tier must show up whenever Gemini Pro is used at all
    for dev, remaining in zip(developers, budgets, strict=True):
        while remaining >= MIN_SESSION:
            n = _take(rng, remaining)
            remaining -= n
            harness = dev.secondary if rng.random() < 0.2 else dev.primary
            start = _start_in_hours(rng, dev.team.utc_offset_minutes, WORK_HOURS, window)
            plan = _plan(rng, dev, harness, n, start, False, force_long=not long_seen)
            long_seen = long_seen or plan.long_context
            traces += simulate(rng, plan, start, now_ns)

    remaining = ci_total
    while remaining >= MIN_SESSION:
        n = _take(rng, remaining, 8, 30)
        remaining -= n
        harness = rng.choices([h for h, _ in CI_HARNESSES], [w for _, w in CI_HARNESSES])[0]
        nightly = [d * DAY_NS + 2 * HOUR_NS for d in range(window[0] // DAY_NS, window[1] // DAY_NS + 1)]
        nightly = [t for t in nightly if window[0] <= t <= window[1] - 30 * MINUTE_NS]
        if nightly and rng.random() < 0.35:  # the nightly job, 02:00 UTC
            start = rng.choice(nightly) + rng.randrange(30 * MINUTE_NS)
        else:
            start = _start_in_hours(rng, -300, CI_HOURS, window)
        traces += simulate(rng, _plan(rng, bot, harness, n, start, True), start, now_ns)

    burst_devs = rng.sample(developers, min(len(developers), 4))
    remaining = burst_total
    while remaining >= MIN_SESSION:
        n = _take(rng, remaining, 10, 40)
        remaining -= n
        dev = rng.choice(burst_devs)
        start = rng.randint(now_ns - BURST_WINDOW_NS + MINUTE_NS, now_ns - 15 * MINUTE_NS)
        traces += simulate(rng, _plan(rng, dev, dev.primary, n, start, False), start, now_ns)

    traces.sort(key=lambda t: (t.start_ns, t.trace_id))
    return traces
