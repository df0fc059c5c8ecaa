"""The budgets YAML file (`agent-spend budget apply FILE`; docs/budgets.md, examples/budgets.yaml).

Its own module so the strict, position-reporting YAML reader (and the yaml dependency)
stays apart from the budget versions and their database operations in
bridge.admin.budgets: this module turns a document into validated BudgetSpecs, with every
error naming the file position and the offending key, and writes nothing;
bridge.admin.budgets.apply_budgets syncs the stored budgets with what it returns.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

from bridge.admin.budgets import (
    DEFAULT_THRESHOLDS,
    PERIODS,
    BudgetError,
    BudgetSpec,
    make_spec,
    parse_amount,
    parse_thresholds,
)

# YAML keys of one budget entry: exactly one scope key, then these.
SCOPE_KEYS = {"org": "org", "team": "team", "user": "user", "repository": "repository"}
ENTRY_KEYS = ("name", *SCOPE_KEYS, "period", "amount_usd", "thresholds", "projected_warning")


def _where(source: str, node: yaml.Node) -> str:
    mark = node.start_mark
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def parse_budget_file(text: str, source: str = "<budgets>") -> list[BudgetSpec]:
    """The budgets a YAML document declares (docs/budgets.md, examples/budgets.yaml).

    The schema is strict: a mapping with the single key `budgets`, a list of mappings, each
    with exactly one scope key (org: true | team | user | repository), `period`,
    `amount_usd` and optionally `name`, `thresholds` and `projected_warning`. A BudgetError
    names the file position and the offending key."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise BudgetError(f"{source}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if root is None:
        raise BudgetError(f"{source}: empty file; expected a mapping with the key 'budgets'")
    if not isinstance(root, yaml.MappingNode):
        raise BudgetError(f"{_where(source, root)}: expected a mapping with the key 'budgets'")
    top = _mapping(loader, root, source, "")
    unknown = [key for key in top if key != "budgets"]
    if unknown:
        key_node = top[unknown[0]][0]
        raise BudgetError(f"{_where(source, key_node)}: unknown key {unknown[0]!r} (expected: budgets)")
    if "budgets" not in top:
        raise BudgetError(f"{_where(source, root)}: missing key 'budgets'")
    entries = top["budgets"][1]
    if isinstance(entries, yaml.ScalarNode) and loader.construct_object(entries) is None:
        return []
    if not isinstance(entries, yaml.SequenceNode):
        raise BudgetError(f"{_where(source, entries)}: budgets: expected a list of budgets")
    specs: list[BudgetSpec] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(entries.value):
        spec = _entry(loader, entry, source, f"budgets[{index}]")
        if spec.name in seen:
            raise BudgetError(
                f"{_where(source, entry)}: budgets[{index}]: name {spec.name!r} is already declared "
                f"at {seen[spec.name]}"
            )
        seen[spec.name] = _where(source, entry)
        specs.append(spec)
    return specs


def load_budget_file(path: str) -> list[BudgetSpec]:
    """parse_budget_file of a file (BudgetError if it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise BudgetError(f"cannot read {path}: {exc}") from None
    return parse_budget_file(text, path)


def _mapping(
    loader: yaml.SafeLoader, node: yaml.MappingNode, source: str, where: str
) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            raise BudgetError(f"{_where(source, key_node)}: {where}keys must be strings")
        if key in out:
            raise BudgetError(f"{_where(source, key_node)}: {where}key {key!r} appears twice")
        out[key] = (key_node, value_node)
    return out


def _entry(loader: yaml.SafeLoader, node: yaml.Node, source: str, where: str) -> BudgetSpec:
    if not isinstance(node, yaml.MappingNode):
        raise BudgetError(f"{_where(source, node)}: {where}: expected a mapping")
    items = _mapping(loader, node, source, f"{where}: ")
    for key, (key_node, _) in items.items():
        if key not in ENTRY_KEYS:
            raise BudgetError(
                f"{_where(source, key_node)}: {where}: unknown key {key!r} "
                f"(expected: {', '.join(ENTRY_KEYS)})"
            )
    scopes = [key for key in items if key in SCOPE_KEYS]
    if len(scopes) != 1:
        raise BudgetError(
            f"{_where(source, node)}: {where}: needs exactly one of org, team, user, repository"
            + (f" (has {', '.join(scopes)})" if scopes else "")
        )
    for required in ("period", "amount_usd"):
        if required not in items:
            raise BudgetError(f"{_where(source, node)}: {where}: missing key {required!r}")

    def value(key: str) -> tuple[yaml.Node, Any]:
        value_node = items[key][1]
        return value_node, loader.construct_object(value_node, deep=True)

    def fail(key: str, problem: str) -> BudgetError:
        return BudgetError(f"{_where(source, items[key][1])}: {where}: {key}: {problem}")

    kind = scopes[0]
    _, scope_value = value(kind)
    if kind == "org":
        if scope_value is not True:
            raise fail(kind, "write `org: true` for the whole organisation")
        scope = ""
    elif (
        not isinstance(scope_value, str | int)
        or isinstance(scope_value, bool)
        or not str(scope_value).strip()
    ):
        raise fail(kind, f"expected the {kind} this budget is for")
    else:
        scope = str(scope_value)
    _, period = value("period")
    if period not in PERIODS:
        raise fail("period", f"expected one of {', '.join(PERIODS)}, not {period!r}")
    name: str | None = None
    if "name" in items:
        _, raw_name = value("name")
        if not isinstance(raw_name, str) or not raw_name.strip():
            raise fail("name", "expected a non-empty string")
        name = raw_name
    warn = True
    if "projected_warning" in items:
        _, warn_value = value("projected_warning")
        if not isinstance(warn_value, bool):
            raise fail("projected_warning", f"expected true or false, not {warn_value!r}")
        warn = warn_value
    _, amount = value("amount_usd")
    try:
        amount_usd = parse_amount(amount)
    except BudgetError as exc:
        raise fail("amount_usd", str(exc)) from None
    thresholds: tuple[Decimal, ...] = DEFAULT_THRESHOLDS
    if "thresholds" in items:
        _, raw_thresholds = value("thresholds")
        if not isinstance(raw_thresholds, list):
            raise fail("thresholds", f"expected a list of percentages, not {raw_thresholds!r}")
        try:
            thresholds = parse_thresholds(raw_thresholds)
        except BudgetError as exc:
            raise fail("thresholds", str(exc)) from None
    try:
        return make_spec(
            kind, scope, period, amount_usd, name=name, thresholds=thresholds, warn_projected=warn
        )
    except BudgetError as exc:
        raise BudgetError(f"{_where(source, node)}: {where}: {exc}") from None
