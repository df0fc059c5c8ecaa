"""The budget file (bridge.admin.budget_file; docs/budgets.md, examples/budgets.yaml) and the
validation of one declared budget (make_spec), which the file and `budget set` share.

Kept apart from test_budgets because none of it touches the database: these tests check
how declarations become BudgetSpecs and how a bad one is named (file position, key), while
test_budgets checks what the stored budgets then do."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bridge.admin.budget_file import load_budget_file, parse_budget_file
from bridge.admin.budgets import BudgetError, BudgetSpec, make_spec
from tests.support.budgets import BUDGET_FILE
from tests.support.paths import ROOT


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("team", "", "month", 5), "needs the team"),
        (("org", "", "year", 5), "period must be one of"),
        (("user", "a@x", "day", 0), "above 0"),
        (("user", "a@x", "day", "1.005"), "two decimals"),
        (("user", "a@x", "day", "ten"), "number of dollars"),
        (("repository", "r", "week", 5, "0,50"), "above 0"),
        (("repository", "r", "week", 5, "50,50"), "repeat"),
    ],
)
def test_make_spec_names_what_is_wrong(args: tuple[Any, ...], message: str) -> None:
    kind, scope, period, amount, *rest = args
    with pytest.raises(BudgetError, match=message):
        make_spec(kind, scope, period, amount, thresholds=rest[0] if rest else None)


def test_parse_budget_file() -> None:
    specs = parse_budget_file(BUDGET_FILE, "b.yaml")
    assert specs == [
        BudgetSpec("org:month", "org", "", "month", Decimal("5000.00")),
        BudgetSpec(
            "payments", "team", "payments", "week", Decimal("300.50"), (Decimal(80), Decimal(100)), False
        ),
        BudgetSpec("repository:acme/app:day", "repository", "acme/app", "day", Decimal("25.00")),
    ]
    assert parse_budget_file("budgets: []\n") == [] and parse_budget_file("budgets:\n") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("budgets:\n  - team: x\n    period: month\n    amout_usd: 5\n",
         "b.yaml:4:5: budgets[0]: unknown key 'amout_usd'"),
        ("budget: []\n", "b.yaml:1:1: unknown key 'budget'"),
        ("budgets:\n  - team: x\n    user: y\n    period: day\n    amount_usd: 5\n", "exactly one of org"),
        ("budgets:\n  - team: x\n    period: year\n    amount_usd: 5\n", "b.yaml:3:13: budgets[0]: period"),
        ("budgets:\n  - team: x\n    period: day\n    amount_usd: -5\n",
         "b.yaml:4:17: budgets[0]: amount_usd"),
        ("budgets:\n  - team: x\n    period: day\n", "b.yaml:2:5: budgets[0]: missing key 'amount_usd'"),
        ("budgets:\n  - org: yes please\n    period: day\n    amount_usd: 5\n", "org: true"),
        ("budgets:\n  - team: x\n    period: day\n    amount_usd: 5\n    thresholds: 50\n", "thresholds"),
        ("budgets:\n  - team: x\n    period: day\n    period: week\n    amount_usd: 5\n",
         "'period' appears twice"),
        ("budgets:\n  - {team: x, period: day, amount_usd: 5}\n  - {team: x, period: day, amount_usd: 6}\n",
         "b.yaml:3:5: budgets[1]: name 'team:x:day' is already declared at b.yaml:2:5"),
        ("budgets: [\n", "b.yaml: not valid YAML"),
        ("- team: x\n", "expected a mapping with the key 'budgets'"),
        ("", "empty file"),
    ],
)  # fmt: skip
def test_a_bad_budget_file_is_named_with_its_position(text: str, message: str) -> None:
    with pytest.raises(BudgetError) as error:
        parse_budget_file(text, "b.yaml")
    assert message in str(error.value)


def test_the_example_file_is_valid() -> None:
    specs = load_budget_file(str(ROOT / "examples" / "budgets.yaml"))
    assert {s.scope_kind for s in specs} == {"org", "team", "user", "repository"}
    assert {s.period for s in specs} == {"month", "week", "day"}
