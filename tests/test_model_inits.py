"""The classes built per call and per record have written `__init__`s; each must take every field.

Why they are written: mypyc compiles a class's own `__init__` but leaves the one `@dataclass`
generates interpreted, and those constructors were about a tenth of mapping a call's
instructions (docs/scale.md). The price is a field list kept twice, so this test reads each
class's source and fails when the `__init__` does not take every field, in the field order (so
positional construction means the same), with the field's default (a `default_factory` field
defaults to None and is built in the body), and assign each field exactly once, in order.
"""

from __future__ import annotations

import ast
import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge import model
from bridge.mapping import records
from bridge.pricing import pricer

CLASSES = [
    model.Tokens,
    model.ReportedCost,
    model.Identity,
    model.ModelCall,
    model.SpanContext,
    records.SpanRecord,
    records.LogRecord,
    pricer.Costs,
]
ROOT = Path(__file__).resolve().parent.parent


def _class_def(cls: type) -> ast.ClassDef:
    path = ROOT / (cls.__module__.replace(".", "/") + ".py")  # the source, compiled or not
    tree = ast.parse(path.read_text())
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__)


def _field_default(value: ast.expr | None) -> tuple[str, str | None]:
    """('required' | 'value' | 'factory', the default's source or the factory's name)."""
    if value is None:
        return "required", None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "field":
        keywords = {k.arg: k.value for k in value.keywords}
        if "default_factory" in keywords:
            return "factory", ast.unparse(keywords["default_factory"])
        return ("value", ast.unparse(keywords["default"])) if "default" in keywords else ("required", None)
    return "value", ast.unparse(value)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_written_init_takes_every_field(cls: type) -> None:
    node = _class_def(cls)
    fields = {
        stmt.target.id: _field_default(stmt.value)
        for stmt in node.body
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
    }
    assert list(fields) == [f.name for f in dataclasses.fields(cls)]
    decorator = next(d for d in node.decorator_list if "dataclass" in ast.unparse(d))
    assert "init=False" in ast.unparse(decorator), "the dataclass must not generate an __init__"
    init = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    params = init.args.args[1:]
    assert not init.args.kwonlyargs and init.args.vararg is None and init.args.kwarg is None
    assert [a.arg for a in params] == list(fields), "every field, in the field order"
    defaults: list[ast.expr | None] = [None] * (len(params) - len(init.args.defaults))
    defaults += init.args.defaults
    assigned: list[str] = []
    for stmt in init.body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
        target = stmt.targets[0]
        assert isinstance(target, ast.Attribute) and ast.unparse(target.value) == "self"
        assigned.append(target.attr)
    assert assigned == list(fields), "each field assigned once, in order"
    for (name, (kind, source)), default, stmt in zip(fields.items(), defaults, init.body, strict=True):
        assert isinstance(stmt, ast.Assign)
        value = ast.unparse(stmt.value)
        if kind == "required":
            assert default is None, name
            assert value == name, name
        elif kind == "value":
            assert default is not None and ast.unparse(default) == source, name
            assert value == name, name
        else:
            assert default is not None and ast.unparse(default) == "None", name
            built = "{}" if source == "dict" else f"{source}()"
            assert value == f"{built} if {name} is None else {name}", name


def test_factories_give_each_call_its_own_value() -> None:
    """A call built without `reported` or `attributes` gets fresh ones, never a shared default."""
    first, second = model.ModelCall(*_required_call_values()), model.ModelCall(*_required_call_values())
    assert first.attributes == {} and first.attributes is not second.attributes
    assert first.reported == model.ReportedCost() and first.reported is not second.reported


def _required_call_values() -> list[Any]:
    return ["k", datetime(2026, 1, 1, tzinfo=UTC), "semconv", "trace", "m", model.Tokens(), model.Identity()]
